// Drives the web UI in headless Chromium (Debian's /usr/bin/chromium through playwright-core):
// signs in at the test OpenID provider (its own pages, which log in the login_hint account),
// edits a field in place and reloads, uploads an avatar, searches and filters the card grid,
// switches to Arabic, adds a field in the schema designer and previews one as it is typed; runs
// axe-core on every page and saves screenshots. Prints the outcome as JSON.
// Also checks that the open card and grid update live when they change elsewhere.
//   node browser-web.mjs <service base URL> <login_hint> <avatar PNG path> <grid search> <screenshot dir>
//     <member's bearer token> <the signed-in account's bearer token>
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const AXE = require.resolve('axe-core/axe.min.js');
const [base, loginHint, avatarPath, search, shots, memberToken, ownToken] = process.argv.slice(2);
mkdirSync(shots, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});

// Serious and critical axe-core violations of the page as it is now.
async function axe(page) {
  await page.addScriptTag({ path: AXE });
  return page.evaluate(async () => {
    const result = await window.axe.run(document, { resultTypes: ['violations'] });
    return result.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target.join(' ')) }));
  });
}

const outcome = { axe: {} };
try {
  const context = await browser.newContext({ locale: 'en-US', viewport: { width: 1100, height: 800 } });
  const page = await context.newPage();

  await page.goto(`${base}/signin`);
  outcome.axe.signin = await axe(page);
  await page.screenshot({ path: `${shots}/signin.png`, fullPage: true });

  // The provider's pages sign the login_hint account in and send the browser back.
  await page.goto(`${base}/signin/oidc?login_hint=${encodeURIComponent(loginHint)}`);
  await page.waitForURL(`${base}/`);
  outcome.signedInAs = await page.textContent('#card-title');

  // Edit in place: type, leave the field; htmx saves on change.
  await page.fill('#in-nickname', 'Countess');
  await page.press('#in-nickname', 'Tab');
  await page.waitForSelector('#msg-nickname.saved');
  outcome.notice = (await page.textContent('#msg-nickname')).trim();
  await page.reload();
  outcome.reloadedNickname = await page.inputValue('#in-nickname');

  // Upload an avatar from the card; the answer shows its thumbnail.
  await page.setInputFiles('#in-avatar', avatarPath);
  await page.waitForSelector('#preview-avatar');
  outcome.thumbnailWidth = await page.$eval('#preview-avatar', async (img) => {
    await img.decode();
    return img.naturalWidth;
  });
  await page.reload();

  // Live: the same account changes its nickname through the API; the open card shows it.
  await page.waitForSelector('[data-live-state="open"]');
  await page.evaluate(() => document.activeElement?.blur());
  const nickname = 'mutation { updateMyProfile(input: { values: [{ key: "nickname", value: "Duchess" }] }) { version } }';
  await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${ownToken}` },
    body: JSON.stringify({ query: nickname }),
  });
  await page.waitForFunction(() => document.querySelector('#in-nickname')?.value === 'Duchess',
    null, { timeout: 10000 });
  outcome.liveNickname = await page.inputValue('#in-nickname');
  outcome.axe.card = await axe(page);
  await page.screenshot({ path: `${shots}/card-ltr.png`, fullPage: true });

  // The grid: search as you type.
  await page.goto(`${base}/admin/people`);
  const before = await page.locator('.tile').count();
  await page.waitForSelector('[data-live-state="open"]');
  await page.fill('input[name="q"]', search);
  await page.waitForFunction((n) => document.querySelectorAll('.tile').length !== n, before);
  outcome.tilesBefore = before;
  outcome.tiles = await page.$$eval('.tile .name', (names) => names.map((n) => n.textContent));
  outcome.axe.grid = await axe(page);

  // Live: the member renames themself through the API; the open grid shows it unreloaded.
  const rename = 'mutation { updateMyProfile(input: { values: [{ key: "name", value: "Bob Wongstein" }] }) { version } }';
  await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${memberToken}` },
    body: JSON.stringify({ query: rename }),
  });
  await page.waitForFunction(() => [...document.querySelectorAll('.tile .name')]
    .some((n) => n.textContent === 'Bob Wongstein'), null, { timeout: 10000 });
  outcome.liveTiles = await page.$$eval('.tile .name', (names) => names.map((n) => n.textContent));
  await page.screenshot({ path: `${shots}/grid.png`, fullPage: true });

  // Filter by a field value: htmx sends the form on change and the URL keeps the filter.
  await page.selectOption('select[name="f.country"]', 'FR');
  await page.waitForFunction(() => new URLSearchParams(window.location.search).get('f.country') === 'FR');
  await page.waitForSelector('#tiles .tile', { state: 'detached' });
  outcome.filteredUrl = page.url();
  outcome.axe.gridFiltered = await axe(page);

  // The schema designer: add a field from the catalogue; it appears in the card preview.
  await page.goto(`${base}/admin/fields`);
  await page.check('input[name="template"][value="department"]');
  await Promise.all([page.waitForNavigation(), page.click('#catalogue ~ form button[type="submit"]')]);
  outcome.designedField = await page.locator('#preview ~ .fields #field-department').count();
  // Drag the new field to the top of the list (the drag events a mouse gesture fires; headless
  // Chromium does not start native drags); the order is saved and the page reloads.
  await Promise.all([
    page.waitForNavigation(),
    page.evaluate(() => {
      const transfer = new DataTransfer();
      const fire = (element, type) => element.dispatchEvent(new DragEvent(type,
        { bubbles: true, cancelable: true, dataTransfer: transfer }));
      const source = document.querySelector('#design-department');
      const target = document.querySelector('li[draggable="true"]');
      fire(source, 'dragstart');
      fire(target, 'dragover');
      fire(target, 'drop');
    }),
  ]);
  outcome.firstField = await page.getAttribute('li[draggable="true"]', 'id');
  outcome.axe.designer = await axe(page);

  // Typing into the add form previews the new field's control; nothing is saved.
  await page.fill('#add-field ~ form input[name="key"]', 'crew');
  await page.selectOption('#add-field ~ form select[name="kind"]', 'SINGLE_CHOICE');
  await page.fill('#add-field ~ form textarea[name="options"]', 'a = Alpha');
  await page.fill('#add-field ~ form input[name="label"]', 'Crew');
  await page.waitForFunction(() => document.querySelector('#draft-preview label')?.textContent === 'Crew'
    && document.querySelector('#draft-preview option[value="a"]'), null, { timeout: 10000 });
  outcome.draftLabel = await page.textContent('#draft-preview label');
  outcome.axe.designerPreview = await axe(page);
  await page.screenshot({ path: `${shots}/designer.png`, fullPage: true });

  // Arabic: the language switcher; the page turns right to left.
  await page.goto(`${base}/`);
  await page.selectOption('#language-switch', 'ar');
  await Promise.all([page.waitForNavigation(), page.click('#language-switch ~ button')]);
  outcome.lang = await page.getAttribute('html', 'lang');
  outcome.dir = await page.getAttribute('html', 'dir');
  outcome.axe.cardRtl = await axe(page);
  await page.screenshot({ path: `${shots}/card-rtl.png`, fullPage: true });
  await page.goto(`${base}/admin/people`);
  outcome.axe.gridRtl = await axe(page);
  await page.screenshot({ path: `${shots}/grid-rtl.png`, fullPage: true });
} catch (error) {
  outcome.error = String(error?.stack || error);
} finally {
  await browser.close();
}
console.log(JSON.stringify(outcome));
