// The status page's document: page.html, read once, on the first request
// for the page, and kept; its Content-Security-Policy, which lets in its own
// style and script by their hashes and nothing else; and the page with the
// init's figures put in its {{marks}}.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

export interface PageDocument {
  /** the Content-Security-Policy header the page is served with */
  csp: string;
  /** the page with each {{mark}} replaced by its field (HTML, escaped by the caller) */
  fill(fields: Record<string, string>): string;
}

/**
 * Reads the document beside this module. The path is relative to the
 * bundle's directory as much as to this module's (both sit in dist/src/*),
 * so it holds in the init bundle too.
 */
export function loadDocument(url = new URL('../page/page.html', import.meta.url)): PageDocument {
  let text: string;
  try {
    text = readFileSync(url, 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${url.pathname} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); npm run build copies it there`);
  }
  const csp = [
    "default-src 'self'",
    `script-src ${hashOf(text, 'script')}`,
    `style-src ${hashOf(text, 'style')}`,
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
  return { csp, fill: (fields) => text.replace(/\{\{(\w+)\}\}/g, (mark, name: string) => fields[name] ?? mark) };
}

/** The CSP source for the document's one inline <script> or <style>: the SHA-256 of its text. */
function hashOf(text: string, tag: 'script' | 'style'): string {
  const found = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(text);
  if (!found) throw new Error(`the status page has no <${tag}>`);
  return `'sha256-${createHash('sha256').update(found[1]).digest('base64')}'`;
}
