import { createHash } from "node:crypto";

/**
 * The biller's page (issue 15): the open items with their evidence, a form for each resolution, the audit packet
 * of any line, and the capture figures. One static document calling the review API beside it (relative URLs),
 * so it is served unchanged by `npm start` and by the biller's console (`npm run review-console`), which signs
 * each call with the biller's own AWS credentials. Data is put in the page with `textContent` only, never as
 * markup, and the only script is this one, allowed by its hash.
 */

const script = `
"use strict";
const $ = (selector) => document.querySelector(selector);
const el = (tag, props = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (name === "text") node.textContent = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value);
  }
  for (const child of children) if (child !== undefined && child !== null) node.append(child);
  return node;
};
const token = () => sessionStorage.getItem("portaltime-review-token") || "";
async function api(path, options = {}) {
  const headers = Object.assign({ accept: "application/json" }, options.headers || {});
  if (token()) headers.authorization = "Bearer " + token();
  const response = await fetch(path, Object.assign({}, options, { headers }));
  const text = await response.text();
  let body;
  try { body = JSON.parse(text); } catch { body = { title: text }; }
  if (!response.ok) {
    const message = response.status === 401 || response.status === 403
      ? "Not authorized: enter the review token (npm start) or use the review console (deployed)."
      : (body.title || "Request failed") + (body.detail ? ": " + body.detail : "");
    throw Object.assign(new Error(message), { status: response.status, problem: body });
  }
  return body;
}
function say(text, kind) {
  const status = $("#status");
  status.textContent = text;
  status.className = kind || "";
}
const actions = {
  "record-consent": [["consentDate", "Consent date (YYYY-MM-DD)", "date"]],
  "supply-diagnoses": [["diagnosisCodes", "ICD-10 codes, comma separated", "text"]],
  "decide-relatedness": [["priorVisitId", "Prior visit id", "text"], ["related", "Related to the visit", "checkbox"]],
  "map-clinician": [["practitionerId", "Roster practitioner id", "text"]],
  "do-not-bill": [["reason", "Reason", "text"]],
};
function resolutionForm(item) {
  const fields = el("span", { class: "fields" });
  const select = el("select", { name: "action", "aria-label": "Action" });
  for (const action of Object.keys(actions)) select.append(el("option", { value: action, text: action }));
  const drawFields = () => {
    fields.replaceChildren();
    for (const [name, label, type] of actions[select.value])
      fields.append(el("label", {}, label + " ", el("input", { name, type, "aria-label": label })));
  };
  select.addEventListener("change", drawFields);
  drawFields();
  const form = el("form", { class: "resolve", "data-item": item.id },
    select, fields,
    el("label", {}, "By ", el("input", { name: "by", type: "text", required: "required", value: localStorage.getItem("portaltime-review-by") || "", "aria-label": "By" })),
    el("button", { type: "submit", text: "Resolve" }));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const body = { action: data.get("action"), by: data.get("by") };
    localStorage.setItem("portaltime-review-by", String(body.by || ""));
    for (const [name, , type] of actions[body.action]) {
      if (type === "checkbox") body[name] = form.querySelector("[name=" + name + "]").checked;
      else if (name === "diagnosisCodes") body[name] = String(data.get(name) || "").split(",").map((s) => s.trim()).filter(Boolean);
      else body[name] = data.get(name);
    }
    try {
      const answer = await api("items/" + encodeURIComponent(item.id) + "/resolutions", {
        method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body),
      });
      say("Recorded " + answer.attestation.id + ": " + answer.note, "ok");
      form.replaceWith(el("em", { text: "resolved by " + body.by + " (decided again at the next finalizer run)" }));
    } catch (error) { say(error.message, "error"); }
  });
  return form;
}
async function loadItems() {
  const status = $("#item-status").value;
  const tbody = $("#items tbody");
  tbody.replaceChildren();
  try {
    let next;
    do {
      const page = await api("items?status=" + status + (next ? "&cursor=" + encodeURIComponent(next) : ""));
      for (const item of page.items) {
        const span = item.windowStart ? item.windowStart.slice(0, 10) + " to " + item.windowEnd.slice(0, 10) : (item.evidence.at || "");
        const evidence = el("details", {}, el("summary", { text: "evidence" }), el("pre", { text: JSON.stringify(item.evidence, null, 2) }));
        tbody.append(el("tr", { class: "item", "data-patient": item.patientId, "data-kind": item.kind },
          el("td", { text: item.kind }), el("td", { text: item.patientId }), el("td", { text: span }),
          el("td", { text: item.totalMinutes === undefined ? "" : String(item.totalMinutes) }),
          el("td", { class: "reasons", text: item.reasons.join(", ") }), el("td", {}, evidence),
          el("td", {}, status === "open" && item.kind !== "quarantined-patient" ? resolutionForm(item) : null)));
      }
      next = page.next;
    } while (next);
    say(tbody.children.length + " " + status + " item(s)", "ok");
  } catch (error) { say(error.message, "error"); }
}
function table(headings, rows) {
  return el("table", {}, el("thead", {}, el("tr", {}, ...headings.map((h) => el("th", { text: h })))),
    el("tbody", {}, ...rows.map((row) => el("tr", {}, ...row.map((cell) => el("td", { text: String(cell) }))))));
}
async function loadAudit(event) {
  event.preventDefault();
  const id = $("#claim-line-id").value.trim();
  const out = $("#audit");
  out.replaceChildren();
  try {
    const packet = await api("claim-lines/" + encodeURIComponent(id));
    out.append(el("h3", { text: "Claim line " + packet.claimLineId + " (patient " + packet.patientId + ")" }),
      table(["Revision", "Action", "Code", "Units", "Date of service", "Charge (cents)", "Decided at"],
        packet.revisions.map((r) => [r.revision, r.action, r.line.procedureCode, r.line.units, r.line.serviceDate, r.line.chargeCents, r.decidedAt])));
    for (const d of packet.decisions)
      out.append(el("h4", { text: "Decision " + d.commit + " at " + d.decidedAt + ": " + (d.outcome || d.decision) + (d.sent ? ", sent revision " + d.sent.revision + " (" + d.sent.action + ")" : "") }),
        table(["Rule", "Title", "Finding"], d.rules.map((r) => [r.rule, r.title, r.finding])));
    out.append(el("h4", { text: "Attestations" }),
      table(["Id", "Action", "Fields", "By", "At", "Retracted", "Used by"],
        packet.attestations.map((a) => [a.id, a.action, JSON.stringify(a.fields), a.by, a.at, a.retracted ? "yes" : "", a.usedBy.join(", ")])),
      el("button", { type: "button", text: "Print", onclick: () => window.print() }));
    say("Audit packet of " + packet.claimLineId, "ok");
  } catch (error) { say(error.message, "error"); }
}
async function loadFigures() {
  const out = $("#figures");
  out.replaceChildren();
  try {
    const f = await api("figures");
    out.append(el("p", { class: "capture", text: "Capture rate: " + (f.captureRate === null ? "n/a" : (100 * f.captureRate).toFixed(1) + "%") + " (" + f.billableEpisodes + " billable of " + f.episodesWithClinicianTime + " episodes with clinician time)" }),
      el("h3", { text: "Episodes by outcome per week" }),
      table(["Week", "Outcome", "Episodes"], f.episodesByOutcomePerWeek.map((r) => [r.week, r.outcome, r.episodes])),
      el("h3", { text: "Minutes per clinician" }),
      table(["Practitioner", "Minutes"], f.minutesByClinician.map((r) => [r.practitionerId, r.minutes])),
      el("h3", { text: "Top reasons episodes did not bill" }),
      table(["Reason", "Episodes"], f.topReasonsNotBilled.map((r) => [r.reason, r.episodes])),
      el("h3", { text: "Open review items" }),
      table(["Kind", "Open", "Oldest (hours)"], f.openReviewItems.map((r) => [r.kind, r.open, r.oldestAgeHours])));
  } catch (error) { say(error.message, "error"); }
}
$("#token").value = token();
$("#token-form").addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem("portaltime-review-token", $("#token").value.trim());
  loadItems(); loadFigures();
});
$("#item-status").addEventListener("change", loadItems);
$("#reload").addEventListener("click", () => { loadItems(); loadFigures(); });
$("#audit-form").addEventListener("submit", loadAudit);
loadItems(); loadFigures();
`;

const scriptHash = createHash("sha256").update(script).digest("base64");

/** The page's Content-Security-Policy: only its own script (by hash), only calls to its own origin. */
export const reviewPageCsp =
  `default-src 'none'; script-src 'sha256-${scriptHash}'; style-src 'unsafe-inline'; connect-src 'self'; ` +
  "img-src 'self' data:; form-action 'none'; base-uri 'none'; frame-ancestors 'none'";

export const reviewPageHtml = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>portaltime: review</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:1.5rem;color:#111;max-width:90rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem}
td,th{border:1px solid #bbb;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#eee}
pre{white-space:pre-wrap;font-size:12px;margin:0}
form.resolve label{display:inline-block;margin-right:.5rem}
#status{padding:.25rem .5rem;min-height:1.2rem}
#status.error{background:#fdd}#status.ok{background:#dfd}
@media print{header,form,#items-section,#figures-section{display:none}}
</style></head><body>
<header><h1>portaltime: review</h1>
<form id="token-form"><label>Review token (npm start only) <input id="token" type="password" autocomplete="off"></label>
<button type="submit">Use</button> <button type="button" id="reload">Reload</button></form>
<p id="status" role="status"></p></header>
<section id="items-section"><h2>Worklist</h2>
<label>Status <select id="item-status"><option value="open">open</option><option value="resolved">resolved</option></select></label>
<table id="items"><thead><tr><th>Kind</th><th>Patient</th><th>Window</th><th>Minutes</th><th>Reasons</th><th>Evidence</th><th>Resolve</th></tr></thead><tbody></tbody></table>
</section>
<section id="audit-section"><h2>Audit packet</h2>
<form id="audit-form"><label>Claim line id <input id="claim-line-id" type="text" size="40"></label> <button type="submit">Show</button></form>
<div id="audit"></div></section>
<section id="figures-section"><h2>Capture</h2><div id="figures"></div></section>
<script>${script}</script>
</body></html>
`;
