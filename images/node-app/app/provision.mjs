// Provisioning: waits (up to 15 s) for the web service, then creates the first item through its API.
const base = process.argv[2] ?? 'http://127.0.0.1:8080';
const deadline = Date.now() + 15_000;
for (;;) {
  try {
    if ((await fetch(`${base}/health`)).ok) break;
  } catch {
    // not listening yet
  }
  if (Date.now() > deadline) {
    console.error(`provision: ${base} did not answer within 15 s`);
    process.exit(1);
  }
  await new Promise((r) => setTimeout(r, 100));
}
const res = await fetch(`${base}/items`, { method: 'POST', body: JSON.stringify({ name: 'first item' }) });
if (res.status !== 201) {
  console.error(`provision: POST /items answered ${res.status}`);
  process.exit(1);
}
console.log(`provision: created the first item: ${(await res.text()).trim()}`);
