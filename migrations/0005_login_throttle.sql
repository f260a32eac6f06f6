CREATE TABLE "login_throttle" (
	"email" text PRIMARY KEY NOT NULL,
	"attempts" integer NOT NULL,
	"last_attempt_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
DROP TABLE "login_failure" CASCADE;--> statement-breakpoint
CREATE INDEX "login_throttle_last_attempt" ON "login_throttle" USING btree ("last_attempt_at");