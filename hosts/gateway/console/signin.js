// The console's sign-in: the only script served without the admin token. It checks a
// token by fetching the console itself (`/console/app/console.js` answers only with a
// valid `X-Admin-Token`), then runs that module from a blob: URL and hands it the token.
// The token is kept in this tab's session storage, never in a cookie or a URL.

const KEY = 'meshguard.adminToken';
const MESSAGE = 'meshguard.signInMessage';
const form = document.getElementById('signin-form');
const panel = document.getElementById('signin');
const error = document.getElementById('signin-error');

function showSignIn(message = '') {
  document.getElementById('app').replaceChildren();
  panel.hidden = false;
  error.textContent = message;
  document.getElementById('token').focus();
}

/** Forgets the token and starts over from a fresh page (which also ends the console's
 * streams and timers); `message` is shown on the sign-in page. */
function signOut(message = '') {
  sessionStorage.removeItem(KEY);
  if (message) sessionStorage.setItem(MESSAGE, message);
  location.reload();
}

function failed(message) {
  sessionStorage.removeItem(KEY);
  showSignIn(message);
}

async function start(token) {
  let response;
  try {
    response = await fetch('/console/app/console.js', { headers: { 'X-Admin-Token': token }, cache: 'no-store' });
  } catch (e) {
    return failed(`The gateway cannot be reached: ${e.message}`);
  }
  if (response.status === 401) return failed('That admin token is not valid for this gateway.');
  if (!response.ok) return failed(`The gateway answered ${response.status} ${response.statusText}.`);
  const code = await response.text();
  sessionStorage.setItem(KEY, token);
  const url = URL.createObjectURL(new Blob([code], { type: 'text/javascript' }));
  try {
    const console = await import(url);
    panel.hidden = true;
    error.textContent = '';
    console.mount(document.getElementById('app'), { token, signOut });
  } finally {
    URL.revokeObjectURL(url);
  }
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  const token = new FormData(form).get('token').trim();
  form.reset();
  if (token) start(token);
});

const saved = sessionStorage.getItem(KEY);
const message = sessionStorage.getItem(MESSAGE) ?? '';
sessionStorage.removeItem(MESSAGE);
if (saved) start(saved);
else showSignIn(message);
