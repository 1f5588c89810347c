// One job: its facts, live progress, error, outputs (download and image previews) and actions.

import { ApiError, filePath, getBlob, postJson, remove } from "./api.js";
import { el, formatTime, progressBar } from "./dom.js";
import { TERMINAL, forgetJob, jobs, subscribe, upsertJob } from "./state.js";

const IMAGE_EXTENSIONS = /\.(jpe?g|png|webp|gif|bmp)$/i;
const CANCELLABLE = new Set(["queued", "processing"]);
const RETRYABLE = new Set(["failed", "cancelled", "error"]);

/** Job-relative paths of the files a job's params and output name (PROTOCOL §4). */
export function filesOf(job) {
  const files = [];
  const add = (path) => {
    if (typeof path === "string" && path && !files.includes(path)) files.push(path);
  };
  add(job.params?.input_path);
  if (job.status === "completed") {
    const output = job.params?.output_path;
    if (output && output !== "output") add(output); // hls_streaming's output is a directory
    add(job.task_output?.master_playlist);
    for (const face of job.task_output?.faces ?? []) add(face.file_path);
  }
  return files;
}

function basename(path) {
  return path.split("/").pop();
}

export function createJobPage({ container, onMissing }) {
  let jobId = null;
  let shownFilesFor = null;
  let objectUrls = [];
  let parts = null;

  function releasePreviews() {
    for (const url of objectUrls) URL.revokeObjectURL(url);
    objectUrls = [];
  }

  function say(text, isError = false) {
    parts.message.textContent = text;
    parts.message.className = isError ? "error" : "hint";
  }

  async function act(label, action) {
    say(`${label}…`);
    try {
      await action();
      say(`${label}: done.`);
    } catch (error) {
      say(`${label} failed: ${error.detail ?? error.message}`, true);
    }
  }

  async function download(path) {
    await act(`Downloading ${basename(path)}`, async () => {
      const url = URL.createObjectURL(await getBlob(filePath(jobId, path)));
      const link = el("a", { href: url, download: basename(path), hidden: true });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
    });
  }

  async function preview(path, figure) {
    try {
      const url = URL.createObjectURL(await getBlob(filePath(jobId, path)));
      objectUrls.push(url);
      figure.prepend(el("img", { src: url, alt: `Preview of ${path}` }));
    } catch (error) {
      figure.prepend(el("p", { class: "error", text: `No preview: ${error.detail ?? error.message}` }));
    }
  }

  function build(id) {
    const fact = (name, label) => {
      const value = el("dd", { dataset: { field: name } });
      return { nodes: [el("dt", { text: label }), value], value };
    };
    const facts = {
      status: fact("status", "Status"),
      task_type: fact("task_type", "Task type"),
      priority: fact("priority", "Priority"),
      created_at: fact("created_at", "Created"),
      started_at: fact("started_at", "Started"),
      completed_at: fact("completed_at", "Finished"),
      worker_id: fact("worker_id", "Worker"),
      attempt: fact("attempt", "Attempts"),
      created_by: fact("created_by", "Owner (user id)"),
    };
    const bar = progressBar(0, "Job progress");
    const progressText = el("span", { class: "progress-text" });
    const cancel = el("button", { type: "button", on: { click: () => act("Cancel", async () => upsertJob(await postJson(`jobs/${encodeURIComponent(id)}/cancel`))) } }, "Cancel job");
    const retry = el("button", { type: "button", on: { click: () => act("Retry", async () => upsertJob(await postJson(`jobs/${encodeURIComponent(id)}/retry`))) } }, "Retry job");
    const del = el("button", { type: "button", class: "danger", on: { click: () => deleteJob(id) } }, "Delete job");
    parts = {
      facts,
      bar,
      progressText,
      cancel,
      retry,
      error: el("p", { class: "error", role: "alert", hidden: true }),
      waiting: el("p", { class: "hint", hidden: true }),
      message: el("p", { class: "hint", role: "status" }),
      files: el("ul", { class: "files" }),
      previews: el("div", { class: "previews" }),
      params: el("pre", {}),
      output: el("pre", {}),
    };
    container.replaceChildren(
      el("p", {}, el("a", { href: "#/" }, "← All jobs")),
      el("h2", { id: "job-title" }, "Job ", el("code", { text: id })),
      el("div", { class: "actions" }, cancel, retry, del),
      parts.message,
      el("div", { class: "progress-row" }, el("span", { id: "job-progress-label", text: "Progress" }), " ", bar, " ", progressText),
      parts.error,
      parts.waiting,
      el("dl", { class: "facts" }, Object.values(facts).flatMap((f) => f.nodes)),
      el("h3", { text: "Files" }),
      parts.files,
      el("h3", { text: "Previews" }),
      parts.previews,
      el("h3", { text: "Parameters" }),
      parts.params,
      el("h3", { text: "Output" }),
      parts.output,
    );
  }

  async function deleteJob(id) {
    if (!window.confirm(`Delete job ${id} and all its files?`)) return;
    await act("Delete", async () => {
      await remove(`jobs/${encodeURIComponent(id)}`);
      forgetJob(id);
      location.hash = "#/";
    });
  }

  function renderFiles(job) {
    const key = `${job.status}:${job.completed_at}`;
    if (shownFilesFor === key) return;
    shownFilesFor = key;
    releasePreviews();
    const files = filesOf(job);
    parts.files.replaceChildren(
      ...files.map((path) =>
        el("li", {}, el("code", { text: path }), " ", el("button", { type: "button", on: { click: () => download(path) } }, `Download ${basename(path)}`)),
      ),
    );
    if (!files.length) parts.files.append(el("li", { class: "hint", text: "No files yet." }));
    const images = files.filter((path) => IMAGE_EXTENSIONS.test(path) && path !== job.params?.input_path);
    parts.previews.replaceChildren(
      ...images.map((path) => {
        const figure = el("figure", {}, el("figcaption", {}, el("code", { text: path })));
        preview(path, figure);
        return figure;
      }),
    );
    if (!images.length) parts.previews.append(el("p", { class: "hint", text: job.status === "completed" ? "No image output." : "Shown when the job completes." }));
  }

  function render() {
    const job = jobs.get(jobId);
    if (!job || !parts) return;
    container.dataset.status = job.status;
    const f = parts.facts;
    f.status.value.replaceChildren(el("span", { class: `badge status-${job.status}`, text: job.status }));
    f.task_type.value.textContent = job.task_type;
    f.priority.value.textContent = String(job.priority);
    f.created_at.value.textContent = formatTime(job.created_at);
    f.started_at.value.textContent = formatTime(job.started_at);
    f.completed_at.value.textContent = formatTime(job.completed_at);
    f.worker_id.value.textContent = job.worker_id ?? "–";
    f.attempt.value.textContent = job.attempt ?? "–";
    f.created_by.value.textContent = job.created_by ?? "–";
    parts.bar.value = job.progress ?? 0;
    parts.progressText.textContent = `${job.progress ?? 0}%`;
    parts.error.hidden = !job.error_message;
    parts.error.textContent = job.error_message ? `Error: ${job.error_message}` : "";
    parts.waiting.hidden = !(job.status === "queued" && job.waiting_reason);
    parts.waiting.textContent = job.waiting_reason ? `Waiting: ${job.waiting_reason}` : "";
    parts.cancel.disabled = !CANCELLABLE.has(job.status);
    parts.retry.disabled = !RETRYABLE.has(job.status);
    parts.params.textContent = JSON.stringify(job.params ?? {}, null, 2);
    parts.output.textContent = job.task_output ? JSON.stringify(job.task_output, null, 2) : "–";
    renderFiles(job);
  }

  subscribe((kind, id) => {
    if (kind === "jobs" && jobId && (id === jobId || id === null)) render();
  });

  return {
    async open(id, fetchJob) {
      if (jobId !== id) {
        releasePreviews();
        jobId = id;
        shownFilesFor = null;
        build(id);
      }
      render();
      try {
        await fetchJob(id);
      } catch (error) {
        if (error instanceof ApiError && error.status === 404) onMissing(id);
        else say(`Could not load the job: ${error.detail ?? error.message}`, true);
      }
    },
    close() {
      releasePreviews();
      jobId = null;
      parts = null;
    },
    get jobId() {
      return jobId;
    },
    isTerminal(status) {
      return TERMINAL.has(status);
    },
  };
}
