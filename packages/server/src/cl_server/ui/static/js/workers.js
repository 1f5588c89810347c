// The workers panel: connected workers in a table, those that left in a list below it.

import { el, formatTime, jobHref, shortId } from "./dom.js";
import { subscribe, workers } from "./state.js";

const $ = (id) => document.getElementById(id);

function hostOf(info) {
  if (!info.host) return "–";
  return info.pid ? `${info.host} (pid ${info.pid})` : info.host;
}

function currentJob(info) {
  if (!info.current_job_id) return "–";
  const more = info.current_job_ids.length > 1 ? ` +${info.current_job_ids.length - 1}` : "";
  return [el("a", { href: jobHref(info.current_job_id) }, el("code", { text: shortId(info.current_job_id) })), more];
}

function row(info) {
  const title = info.execution_provider ? `ONNX: ${info.execution_provider}` : null;
  return el(
    "tr",
    { dataset: { workerId: info.worker_id, state: info.state } },
    el("th", { scope: "row", title }, info.worker_id),
    el("td", {}, el("span", { class: `badge worker-${info.state}`, text: info.state })),
    el("td", { text: hostOf(info) }),
    el("td", { text: info.task_types.join(", ") || "–" }),
    el("td", {}, currentJob(info)),
    el("td", { text: `${info.jobs_done} / ${info.jobs_failed}` }),
    el("td", { text: formatTime(info.last_seen) }),
  );
}

export function createWorkersPanel() {
  function render() {
    const all = [...workers.values()].sort((a, b) => (a.worker_id < b.worker_id ? -1 : 1));
    const connected = all.filter((info) => info.state !== "gone");
    const gone = all.filter((info) => info.state === "gone");
    $("workers-body").replaceChildren(...connected.map(row));
    $("workers-empty").hidden = connected.length > 0;
    $("gone-count").textContent = String(gone.length);
    $("gone-list").replaceChildren(
      ...gone.map((info) =>
        el("li", { dataset: { workerId: info.worker_id, state: "gone" } }, `${info.worker_id}, left ${formatTime(info.last_seen)}`),
      ),
    );
  }

  subscribe((kind) => {
    if (kind === "workers") render();
  });
  return { render };
}
