// Small DOM helpers: build elements without innerHTML, so no job field is ever parsed as HTML.

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "text") node.textContent = value;
    else if (name === "dataset") Object.assign(node.dataset, value);
    else if (name === "on") for (const [type, fn] of Object.entries(value)) node.addEventListener(type, fn);
    else if (value === true) node.setAttribute(name, "");
    else node.setAttribute(name, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function show(node, visible) {
  node.hidden = !visible;
}

export function formatTime(ms) {
  return ms ? new Date(ms).toLocaleString() : "–";
}

export function shortId(id) {
  return id.slice(0, 8);
}

export function jobHref(id) {
  return `#/jobs/${encodeURIComponent(id)}`;
}

export function progressBar(value, label) {
  const bar = el("progress", { max: 100, value: value ?? 0, "aria-label": label });
  return bar;
}
