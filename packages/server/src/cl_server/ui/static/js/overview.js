// The overview: counts by status and task type, and the job table with its filters.

import { el, formatTime, jobHref, progressBar, shortId } from "./dom.js";
import { jobs, sortedJobs, subscribe } from "./state.js";

const STATUSES = ["queued", "processing", "completed", "failed", "cancelled"];
const TASK_TYPES = [
  "clip_embedding",
  "dino_embedding",
  "exif",
  "face_detection",
  "face_embedding",
  "hash",
  "hls_streaming",
  "image_conversion",
  "media_thumbnail",
];

const $ = (id) => document.getElementById(id);

function countBy(key) {
  const counts = new Map();
  for (const job of jobs.values()) counts.set(job[key], (counts.get(job[key]) ?? 0) + 1);
  return counts;
}

function countButton(label, count, onClick, pressed) {
  return el(
    "li",
    {},
    el(
      "button",
      { type: "button", class: "count", "aria-pressed": pressed ? "true" : "false", on: { click: onClick } },
      el("span", { class: "count-value", text: count }),
      " ",
      el("span", { class: "count-label", text: label }),
    ),
  );
}

export function createOverview({ onLoadMore }) {
  const statusFilter = $("filter-status");
  const typeFilter = $("filter-type");
  const body = $("jobs-body");
  const rows = new Map();
  let order = [];
  let scheduled = false;

  for (const type of TASK_TYPES) typeFilter.append(el("option", { value: type, text: type }));
  statusFilter.addEventListener("change", render);
  typeFilter.addEventListener("change", render);
  $("job-filters").addEventListener("submit", (event) => event.preventDefault());
  $("load-more").addEventListener("click", onLoadMore);

  function setFilter(select, value) {
    select.value = select.value === value ? "" : value;
    render();
  }

  function renderCounts() {
    const byStatus = countBy("status");
    const byType = countBy("task_type");
    $("status-counts").replaceChildren(
      ...STATUSES.map((status) =>
        countButton(status, byStatus.get(status) ?? 0, () => setFilter(statusFilter, status), statusFilter.value === status),
      ),
    );
    const types = [...byType.keys()].sort();
    $("type-counts").replaceChildren(
      ...types.map((type) =>
        countButton(type, byType.get(type), () => setFilter(typeFilter, type), typeFilter.value === type),
      ),
    );
    if (!types.length) $("type-counts").append(el("li", { class: "hint", text: "No jobs yet." }));
    $("counts-scope").textContent = `Across the ${jobs.size} most recent jobs loaded; live.`;
  }

  function rowFor(job) {
    let row = rows.get(job.job_id);
    if (!row) {
      const link = el("a", { href: jobHref(job.job_id), title: job.job_id }, el("code", { text: shortId(job.job_id) }));
      row = el("tr", { dataset: { jobId: job.job_id } });
      row.append(
        el("td", {}, link),
        el("td", { class: "task-type" }),
        el("td", { class: "status" }),
        el("td", { class: "progress" }),
        el("td", { class: "created" }),
        el("td", { class: "finished" }),
      );
      rows.set(job.job_id, row);
    }
    row.dataset.status = job.status;
    row.querySelector(".task-type").textContent = job.task_type;
    const status = row.querySelector(".status");
    status.replaceChildren(el("span", { class: `badge status-${job.status}`, text: job.status }));
    const progress = row.querySelector(".progress");
    const bar = progress.querySelector("progress");
    if (bar) {
      bar.value = job.progress ?? 0;
      progress.querySelector("span").textContent = `${job.progress ?? 0}%`;
    } else {
      progress.append(progressBar(job.progress, `Progress of job ${shortId(job.job_id)}`), " ", el("span", { text: `${job.progress ?? 0}%` }));
    }
    row.querySelector(".created").textContent = formatTime(job.created_at);
    row.querySelector(".finished").textContent = formatTime(job.completed_at);
    return row;
  }

  function render() {
    scheduled = false;
    renderCounts();
    const status = statusFilter.value;
    const type = typeFilter.value;
    const visible = sortedJobs().filter(
      (job) => (!status || job.status === status) && (!type || job.task_type === type),
    );
    const ids = visible.map((job) => job.job_id);
    const wanted = visible.map(rowFor);
    // Re-order only when the set or order of rows changed, so focus inside a row survives updates.
    if (ids.length !== order.length || ids.some((id, i) => id !== order[i])) {
      body.replaceChildren(...wanted);
      order = ids;
    }
    for (const id of rows.keys()) if (!jobs.has(id)) rows.delete(id);
    $("jobs-empty").hidden = visible.length > 0;
  }

  function schedule() {
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(render);
  }

  subscribe((kind) => {
    if (kind === "jobs") schedule();
  });

  return {
    render,
    setMore(hasMore) {
      $("load-more").hidden = !hasMore;
    },
  };
}
