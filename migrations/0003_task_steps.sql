CREATE TABLE "task_step" (
	"task_id" text NOT NULL,
	"name" text NOT NULL,
	"result" jsonb,
	"completed_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "task_step_task_id_name_pk" PRIMARY KEY("task_id","name")
);
--> statement-breakpoint
ALTER TABLE "task_receipt" ALTER COLUMN "completed_at" DROP DEFAULT;--> statement-breakpoint
ALTER TABLE "task_receipt" ALTER COLUMN "completed_at" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "task_receipt" ADD COLUMN "claimed_until" timestamp with time zone;