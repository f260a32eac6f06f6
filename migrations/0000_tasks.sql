CREATE TABLE "local_queue_message" (
	"id" text PRIMARY KEY NOT NULL,
	"queue" text NOT NULL,
	"body" text NOT NULL,
	"receive_count" integer DEFAULT 0 NOT NULL,
	"receipt_handle" text,
	"sent_at" timestamp with time zone NOT NULL,
	"visible_at" timestamp with time zone NOT NULL,
	"first_received_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "task_outbox" (
	"id" text PRIMARY KEY NOT NULL,
	"task" text NOT NULL,
	"payload" jsonb NOT NULL,
	"dedup_key" text,
	"request_id" text,
	"available_at" timestamp with time zone NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"relayed_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "task_receipt" (
	"id" text PRIMARY KEY NOT NULL,
	"task" text NOT NULL,
	"completed_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "local_queue_message_visible" ON "local_queue_message" USING btree ("queue","visible_at");--> statement-breakpoint
CREATE UNIQUE INDEX "task_outbox_dedup_key" ON "task_outbox" USING btree ("dedup_key");--> statement-breakpoint
CREATE INDEX "task_outbox_pending" ON "task_outbox" USING btree ("available_at") WHERE "task_outbox"."relayed_at" is null;