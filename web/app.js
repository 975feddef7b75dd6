// Placeholder page script: shows the server's health from /api/v1/health.
const el = document.getElementById('health');
fetch('/api/v1/health')
  .then((r) => r.json())
  .then((h) => { el.textContent = `${h.status} (database ${h.db}, version ${h.version})`; })
  .catch(() => { el.textContent = 'unreachable'; });
