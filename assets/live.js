// Live pages: listens to the page's event stream (data-live) and, when something changed,
// fetches the page again through htmx and swaps in the live part. Written by hand, no build.
(() => {
  const root = document.querySelector('[data-live]');
  if (!root || !window.EventSource) return;
  const part = root.dataset.livePart;
  let stale = false;

  // Whether the visitor is in the middle of an edit that a swap would throw away.
  const editing = () => root.contains(document.activeElement)
    && document.activeElement.matches('input, textarea, select');

  const refresh = () => {
    if (editing()) {
      stale = true;
      return;
    }
    stale = false;
    // A card swaps its part out of the whole page; the grid's handler answers its tiles alone.
    const swap = root.dataset.liveSwap === 'inner'
      ? { target: `#${part}`, swap: 'innerHTML' }
      : { target: `#${part}`, select: `#${part}`, swap: 'outerHTML' };
    window.htmx.ajax('GET', window.location.href, swap);
  };

  const source = new EventSource(root.dataset.live);
  // Said on the page, so that a test (or a curious reader) can tell the stream is listening.
  // A reconnection may have missed changes: the page fetches itself again then.
  let opened = false;
  source.addEventListener('open', () => {
    if (opened) refresh();
    opened = true;
    root.dataset.liveState = 'open';
  });
  source.addEventListener('changed', (event) => {
    const version = document.getElementById('card-version');
    // A card's own save already shows its version: nothing to fetch.
    if (version && Number(event.data) > 0 && Number(event.data) <= Number(version.value)) return;
    refresh();
  });
  root.addEventListener('focusout', () => {
    if (stale) setTimeout(refresh, 0);
  });
})();
