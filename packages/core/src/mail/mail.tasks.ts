import { defineTask } from "../task/task";
import { deliver, Message } from "./mail";

export const deliverTask = defineTask("mail.deliver", Message, (message) => deliver(message));
