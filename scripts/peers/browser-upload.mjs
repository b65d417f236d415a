// Drives headless Chromium (Debian's /usr/bin/chromium through playwright-core) to upload a
// photo the way a web page does: a canvas-drawn PNG in a FormData GraphQL multipart request,
// then loads the returned thumbnail URL in an <img>. Prints the outcome as JSON.
//   node browser-upload.mjs <service base URL> <bearer token> <field key>
import { chromium } from 'playwright-core';

const [base, token, fieldKey] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const page = await browser.newPage();
  await page.goto(`${base}/healthz`);
  const outcome = await page.evaluate(async ({ token, fieldKey }) => {
    const canvas = document.createElement('canvas');
    canvas.width = 120;
    canvas.height = 80;
    const context = canvas.getContext('2d');
    context.fillStyle = '#c33';
    context.fillRect(0, 0, 120, 80);
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, 'image/png'));
    const query = `mutation($f: Upload!, $k: String!) { uploadFile(file: $f, fieldKey: $k) {
      file { contentType width height thumbnails { size url } } } }`;
    const form = new FormData();
    form.append('operations', JSON.stringify({ query, variables: { f: null, k: fieldKey } }));
    form.append('map', JSON.stringify({ 0: ['variables.f'] }));
    form.append('0', blob, 'me.png');
    const response = await fetch('/graphql', { method: 'POST', headers: { Authorization: `Bearer ${token}` }, body: form });
    const body = await response.json();
    const thumbnail = body.data?.uploadFile?.file?.thumbnails?.[0];
    if (!thumbnail) return { body };
    const img = new Image();
    img.src = thumbnail.url;
    await img.decode();
    return { body, naturalWidth: img.naturalWidth, naturalHeight: img.naturalHeight };
  }, { token, fieldKey });
  console.log(JSON.stringify(outcome));
} finally {
  await browser.close();
}
