// Start-up and routing: login when the server enforces auth, then the overview (#/) or one
// job (#/jobs/<id>), kept up to date by the /events stream.

import { ApiError, getJson, login, onUnauthorized, session } from "./api.js";
import { connectLive } from "./live.js";
import { createJobPage } from "./job_page.js";
import { createOverview } from "./overview.js";
import { TERMINAL, applyJobEvent, jobs, setWorkers, upsertJob, upsertJobs, upsertWorker } from "./state.js";
import { createWorkersPanel } from "./workers.js";

const PAGE_SIZE = 200;
const $ = (id) => document.getElementById(id);

let authRequired = false;
let live = null;
let nextCursor = null;
const fetching = new Map();

function notice(text) {
  $("notice").textContent = text ?? "";
  $("notice").hidden = !text;
}

function setConnection(state) {
  const labels = { live: "Live", reconnecting: "Reconnecting…", connecting: "Connecting…", offline: "Offline" };
  $("connection").dataset.state = state;
  $("connection").textContent = labels[state] ?? state;
}

function fetchJob(id) {
  // One request per job at a time, however many events arrive meanwhile.
  if (!fetching.has(id)) {
    const request = getJson(`jobs/${encodeURIComponent(id)}`)
      .then((job) => upsertJob(job))
      .finally(() => fetching.delete(id));
    fetching.set(id, request);
  }
  return fetching.get(id);
}

async function loadJobs() {
  const page = await getJson("jobs", { limit: PAGE_SIZE });
  nextCursor = page.next_cursor;
  upsertJobs(page.jobs, { replace: true });
  overview.setMore(Boolean(nextCursor));
}

async function loadMore() {
  if (!nextCursor) return;
  const page = await getJson("jobs", { limit: PAGE_SIZE, cursor: nextCursor });
  nextCursor = page.next_cursor;
  upsertJobs(page.jobs);
  overview.setMore(Boolean(nextCursor));
}

async function loadWorkers() {
  setWorkers((await getJson("workers")).workers);
}

async function reload() {
  try {
    await Promise.all([loadJobs(), loadWorkers()]);
    notice(null);
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 401)) notice(`Could not load: ${error.detail ?? error.message}`);
  }
}

function onJobEvent(event) {
  const known = applyJobEvent(event);
  // Unknown jobs are fetched whole; finished ones too, for their output, error and times.
  if (!known || TERMINAL.has(event.event_type)) {
    fetchJob(event.job_id).catch(() => {
      // 404: deleted meanwhile (or not ours); nothing to show.
    });
  }
}

function startLive() {
  live?.close();
  live = connectLive({
    onReady: (first) => {
      if (first) reload();
    },
    onReset: reload,
    onJob: onJobEvent,
    onWorker: upsertWorker,
    onDenied: (detail) => showLogin(`Signed out: ${detail}`),
    onClosed: async () => {
      // Find out why the server refused the stream: a 401 here leads to the login form.
      try {
        await getJson("jobs", { limit: 1 });
      } catch {
        // handled by onUnauthorized or shown on the next attempt
      }
    },
    onState: setConnection,
  });
}

const overview = createOverview({ onLoadMore: () => loadMore().catch((e) => notice(e.detail ?? e.message)) });
const workersPanel = createWorkersPanel();
const jobPage = createJobPage({
  container: $("job-view"),
  onMissing: (id) => notice(`Job ${id} does not exist (or is not yours).`),
});

function route() {
  if (!$("login-view").hidden) return;
  notice(null);
  const match = location.hash.match(/^#\/jobs\/(.+)$/);
  $("overview-view").hidden = Boolean(match);
  $("job-view").hidden = !match;
  if (match) {
    jobPage.open(decodeURIComponent(match[1]), fetchJob);
  } else {
    jobPage.close();
    overview.render();
    workersPanel.render();
  }
}

function showDashboard() {
  $("login-view").hidden = true;
  $("logout").hidden = !authRequired;
  $("whoami").hidden = !authRequired;
  $("whoami").textContent = authRequired ? `Logged in as ${session.username ?? "?"}` : "";
  startLive();
  route();
}

function showLogin(message) {
  live?.close();
  live = null;
  session.clear();
  jobs.clear();
  setConnection("offline");
  $("overview-view").hidden = true;
  $("job-view").hidden = true;
  $("logout").hidden = true;
  $("whoami").hidden = true;
  $("login-view").hidden = false;
  $("login-error").hidden = !message;
  $("login-error").textContent = message ?? "";
  $("login-username").focus();
}

$("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const button = event.target.querySelector("button");
  button.disabled = true;
  try {
    await login($("login-username").value, $("login-password").value);
    $("login-password").value = "";
    notice(null);
    showDashboard();
  } catch (error) {
    $("login-error").hidden = false;
    $("login-error").textContent = `Login failed: ${error.detail ?? error.message}`;
  } finally {
    button.disabled = false;
  }
});

$("logout").addEventListener("click", () => showLogin(null));
onUnauthorized((detail) => {
  if (authRequired) showLogin(session.token ? `Please log in again (${detail}).` : null);
});
window.addEventListener("hashchange", route);

async function boot() {
  try {
    const root = await getJson("");
    authRequired = root.auth_required !== false;
  } catch (error) {
    notice(`The compute service does not answer: ${error.detail ?? error.message}`);
    return;
  }
  if (authRequired && !session.token) showLogin(null);
  else showDashboard();
}

boot();
