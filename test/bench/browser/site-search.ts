// Types a query into the site's search panel with the chosen scan (exact or IVF nprobe), submits it
// and waits until the results are listed and the link holds the query; shared by the benchmarks
// that time searches through the real site (ivf-browser, scale).
import type { Page } from 'playwright-core';

/** Milliseconds from the click to the listed results. */
export async function runSiteSearch(page: Page, query: string, scan: string, timeoutMs: number): Promise<number> {
  await page.locator('[data-testid="search-scan"]').selectOption(scan);
  await page.locator('[data-testid="search-input"]').fill(query);
  const t0 = Date.now();
  await page.locator('[data-testid="search-submit"]').click();
  await page.waitForFunction(
    (q) => document.querySelector('[data-testid="search-status"]')?.getAttribute('data-status') === 'done' && location.hash.includes(encodeURIComponent(q).replaceAll('%20', '+')),
    query,
    { timeout: timeoutMs },
  );
  return Date.now() - t0;
}
