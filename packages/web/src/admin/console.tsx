import type { ReactNode } from "react";
import { Link, Redirect, Route, Switch, useRoute } from "wouter";
import { NotFound } from "../pages/not-found";
import { Attachments } from "./attachments";
import { AuditLog } from "./audit";
import "./console.css";
import { Mail } from "./mail";
import { Schedules } from "./schedules";
import { TableRows, Tables } from "./tables";
import { Tasks } from "./tasks";
import { Users } from "./users";

const SECTIONS = [
  ["/users", "Users"],
  ["/tables", "Tables"],
  ["/tasks", "Tasks"],
  ["/schedules", "Schedules"],
  ["/mail", "Mail"],
  ["/attachments", "Attachments"],
  ["/audit", "Audit log"],
] as const;

/**
 * The operator console (loaded lazily by pages/admin.tsx, for admins only), nested under /admin:
 * every path below is relative to it.
 */
export function Console() {
  return (
    <div className="console">
      <nav aria-label="Console" className="console-nav">
        <span className="console-title">Operator console</span>
        <ul>
          {SECTIONS.map(([path, label]) => (
            <li key={path}>
              <SectionLink href={path}>{label}</SectionLink>
            </li>
          ))}
        </ul>
      </nav>
      <Switch>
        <Route path="/">
          <Redirect to="/users" replace />
        </Route>
        <Route path="/users" component={Users} />
        <Route path="/tables" component={Tables} />
        <Route path="/tables/:name">{(params) => <TableRows name={params.name} />}</Route>
        <Route path="/tasks" component={Tasks} />
        <Route path="/schedules" component={Schedules} />
        <Route path="/mail" component={Mail} />
        <Route path="/attachments" component={Attachments} />
        <Route path="/audit" component={AuditLog} />
        <Route component={NotFound} />
      </Switch>
    </div>
  );
}

/** A section's link, marked as the current page (for screen readers too) inside its section. */
function SectionLink({ href, children }: { href: string; children: ReactNode }) {
  const [here] = useRoute(`${href}/*?`);
  return (
    <Link href={href} aria-current={here ? "page" : undefined}>
      {children}
    </Link>
  );
}
