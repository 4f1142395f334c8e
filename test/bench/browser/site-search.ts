// Types a query into the site's search panel with the chosen scan (exact or IVF nprobe), submits it
// and waits until the results are listed and the link holds the query; shared by the benchmarks
// that time searches through the real site (ivf-browser, scale).
//
// Changing the scan select reruns the current search (SearchPanel's rerun): the scan is set only
// when it differs, and that rerun is waited for before the clock starts (Playwright's selectOption
// fires `change` even for the value already selected, which made every timed query two searches
// and doubled the bytes a server saw per query).
import type { Page } from 'playwright-core';

/** No search running, and a finished one (if any) ran with `scan`. */
const settled = (page: Page, scan: string, timeoutMs: number) =>
  page.waitForFunction(
    (sc) => {
      const s = document.querySelector('[data-testid="search-status"]')?.getAttribute('data-status');
      if (s === 'idle' || s === 'error') return true;
      if (s !== 'done') return false;
      const ivf = document.querySelector('[data-testid="search-ivf"]')?.textContent ?? null;
      return sc === 'exact' ? ivf === null : ivf !== null && ivf.includes(`IVF ${sc}/`);
    },
    scan,
    { timeout: timeoutMs },
  );

/** Milliseconds from the click to the listed results. `beforeSubmit` runs just before the click (e.g. to reset byte counters). */
export async function runSiteSearch(page: Page, query: string, scan: string, timeoutMs: number, beforeSubmit?: () => void | Promise<void>): Promise<number> {
  const select = page.locator('[data-testid="search-scan"]');
  if ((await select.inputValue()) !== scan) {
    await select.selectOption(scan);
    await settled(page, scan, timeoutMs);
  }
  await page.locator('[data-testid="search-input"]').fill(query);
  await beforeSubmit?.();
  const t0 = Date.now();
  await page.locator('[data-testid="search-submit"]').click();
  await page.waitForFunction(
    (q) => document.querySelector('[data-testid="search-status"]')?.getAttribute('data-status') === 'done' && location.hash.includes(encodeURIComponent(q).replaceAll('%20', '+')),
    query,
    { timeout: timeoutMs },
  );
  return Date.now() - t0;
}
