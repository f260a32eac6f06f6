-- UNLOGGED (added by hand: drizzle-kit cannot say it): cache writes skip the WAL, so they cost no
-- WAL flush, nothing of them reaches a standby or replica, and a crash empties the table (ADR 033).
CREATE UNLOGGED TABLE "cache_entry" (
	"key" text PRIMARY KEY NOT NULL,
	"value" text NOT NULL,
	"expires_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE INDEX "cache_entry_expires" ON "cache_entry" USING btree ("expires_at");