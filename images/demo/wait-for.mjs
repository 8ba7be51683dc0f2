// Waits (up to 10 s) until a URL answers 2xx: what a provisioning oneshot-post does before it talks to a service.
const url = process.argv[2];
const deadline = Date.now() + 10_000;
for (;;) {
  try {
    const res = await fetch(url);
    if (res.ok) {
      console.log(`provision: ${url} is up`);
      process.exit(0);
    }
  } catch {
    // not listening yet
  }
  if (Date.now() > deadline) {
    console.error(`provision: ${url} did not answer within 10 s`);
    process.exit(1);
  }
  await new Promise((r) => setTimeout(r, 100));
}
