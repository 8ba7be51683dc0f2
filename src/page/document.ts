// The status page's document: page.html, read once, on the first request
// for the page, and kept; its Content-Security-Policy, which lets in its own
// style and script by their hashes and nothing else (`npm run build` writes
// it into the document, scripts/bundle-init.mjs); and the page with the
// init's figures put in its {{marks}}.
import { readFileSync } from 'node:fs';

export interface PageDocument {
  /** the Content-Security-Policy the page is served with, as a header too */
  csp: string;
  /** the page with each {{mark}} replaced by its field (HTML, escaped by the caller) */
  fill(fields: Record<string, string>): string;
}

/**
 * Reads the document beside this module. The path is relative to the
 * bundle's directory as much as to this module's (both sit in dist/src/*),
 * so it holds in the page's bundle too.
 */
export function loadDocument(url = new URL('../page/page.html', import.meta.url)): PageDocument {
  let text: string;
  try {
    text = readFileSync(url, 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${url.pathname} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); npm run build writes it there`);
  }
  const csp = /<meta http-equiv="Content-Security-Policy" content="([^"{}]+)">/.exec(text)?.[1];
  if (!csp) throw new Error(`${url.pathname} has no Content-Security-Policy; it is the source, not the copy npm run build writes with its policy`);
  return { csp, fill: (fields) => text.replace(/\{\{(\w+)\}\}/g, (mark, name: string) => fields[name] ?? mark) };
}
