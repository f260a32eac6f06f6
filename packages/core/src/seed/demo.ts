import demoLogin from "./demo-login.json";

/**
 * The demo data `npm run db:seed` (and a fresh `npm run dev`) writes. The login is in
 * demo-login.json, which scripts/dev.mjs (plain node) reads to print it. The password is
 * published on purpose: seed.ts refuses to run anywhere but this machine's own database.
 */
export const DEMO_LOGIN: {
  readonly email: string;
  readonly password: string;
  readonly name: string;
} = demoLogin;

export interface DemoNote {
  title: string;
  body: string;
}

/** Oldest first: the newest, the first a list shows, is the one with the attachment. */
export const DEMO_NOTES: readonly DemoNote[] = [
  {
    title: "Welcome to Slipway",
    body: "This account was made by the seed (npm run db:seed). Everything you see here went through the same functions the API calls: sign-up, notes, an upload and its check.\n\nEdit or delete anything; run `rm -rf .data` and start again for a clean slate.",
  },
  {
    title: "Groceries",
    body: "- oat milk\n- eggs (a dozen)\n- sourdough\n- tomatoes, basil, mozzarella\n- coffee beans: the Ethiopian one again\n- dish soap",
  },
  {
    title: "Book list",
    body: "Reading: The Pragmatic Programmer (20th anniversary edition).\nNext: Designing Data-Intensive Applications, A Philosophy of Software Design.\nLent to Sam: Thinking in Systems.",
  },
  {
    title: "Weekly planning, Monday",
    body: "1. Ship the attachment previews behind a flag.\n2. Review Priya's migration PR before Wednesday.\n3. Write up the on-call handover.\n4. Book the room for Thursday's retro.",
  },
  {
    title: "Retro notes",
    body: "Went well: deploys are boring now; the queue dashboard caught the stuck digest.\nTo improve: flaky e2e test on sign-out; reviews wait too long after 4 pm.\nActions: Alex pairs on the flaky test, everyone reviews before stand-up.",
  },
  {
    title: "Recipe: weeknight dal",
    body: "Rinse 200 g red lentils. Soften an onion, garlic and ginger in oil; add cumin, turmeric and a chopped tomato. Add the lentils and 700 ml water, simmer 20 minutes. Finish with lemon juice and coriander. Serves three.",
  },
  {
    title: "Ideas for the team offsite",
    body: "- a half day of bug-bash with prizes\n- walk along the canal, lunch at the market\n- lightning talks: five minutes, no slides allowed\n- budget: ask finance by the 15th",
  },
  {
    title: "Interview questions",
    body: "Tell me about a production incident you were part of: what did you change afterwards?\nHow would you add a new table to a service that is already deployed?\nWhat do you look for first when a page is slow?",
  },
  {
    title: "Home: things to fix",
    body: "Bathroom tap drips (washer?). Hallway bulb, E27 warm white. The bike's back brake squeaks. Call the landlord about the window latch.",
  },
  {
    title: "Gift ideas",
    body: "Mum: the ceramics class voucher. Jo: a good chef's knife. Niece: the dinosaur atlas she pointed at in the bookshop.",
  },
  {
    title: "Release checklist",
    body: "- migrations generated and committed\n- npm run verify is green\n- changelog written\n- deploy to staging, smoke-test sign-in and an upload\n- deploy to production, watch the alarms for an hour",
  },
  {
    title: "Trip to Lisbon",
    body: "Flights booked for the 12th, back on the 17th. The packing list is attached. Must see: Belém, the tram 28 ride, LX Factory on Sunday. Ask Rui about the fado bar in Alfama.",
  },
];

/** The attachment: a text file on the newest note, uploaded and checked as a browser's would be. */
export const DEMO_ATTACHMENT = {
  filename: "packing-list.txt",
  contentType: "text/plain",
  text: "Packing list, Lisbon\n\n- passport\n- light jacket (evenings are cool)\n- walking shoes\n- sunscreen\n- adapter: none needed (EU plugs)\n- phrasebook, or learn: obrigado / obrigada\n",
} as const;
