// The schema designer's drag and drop: a field row dropped on another takes its place, and
// the new order of the unarchived fields is saved (the move buttons do the same by keyboard).
// Written by hand, no build.
(() => {
  const list = document.querySelector('[data-reorder]');
  if (!list) return;
  let dragged = null;

  list.addEventListener('dragstart', (event) => {
    dragged = event.target.closest('li[draggable="true"]');
    if (dragged) event.dataTransfer.effectAllowed = 'move';
  });
  list.addEventListener('dragover', (event) => {
    if (dragged && event.target.closest('li[draggable="true"]')) event.preventDefault();
  });
  list.addEventListener('drop', async (event) => {
    const target = event.target.closest('li[draggable="true"]');
    if (!dragged || !target || target === dragged) return;
    event.preventDefault();
    const rows = [...list.querySelectorAll('li[draggable="true"]')];
    const after = rows.indexOf(dragged) < rows.indexOf(target);
    target.insertAdjacentElement(after ? 'afterend' : 'beforebegin', dragged);
    const body = new URLSearchParams({ csrf: list.dataset.csrf });
    for (const row of list.querySelectorAll('li[draggable="true"]')) body.append('id', row.dataset.id);
    await fetch(list.dataset.reorder, { method: 'POST', body });
    window.location.reload();
  });
})();
