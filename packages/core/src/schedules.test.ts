import { describe, expect, it } from "vitest";
import { schedules } from "./schedules";
import { parseExpression } from "./task/schedule-expression";
import { tasks } from "./tasks";

describe("the schedule list", () => {
  it.each(schedules.map((s) => [s.name, s] as const))(
    "%s: valid name, expression, time zone, task and payload",
    (_, schedule) => {
      expect(schedule.name).toMatch(/^[0-9a-zA-Z_.-]{1,64}$/);
      expect(() => parseExpression(schedule.expression, schedule.timezone)).not.toThrow();
      const task = tasks.find((t) => t.name === schedule.task);
      expect(task, `task ${schedule.task}`).toBeDefined();
      expect(task?.payload.safeParse(schedule.payload).success).toBe(true);
    },
  );

  it("has unique names", () => {
    expect(new Set(schedules.map((s) => s.name)).size).toBe(schedules.length);
  });
});
