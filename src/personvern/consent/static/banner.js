// personvern consent banner. One tag, as early in <head> as possible, before any tag
// manager: <script src="https://PERSONVERN/consent/banner.js"></script>
//
// Law it implements: ekomloven § 3-15 (no cookie but the strictly necessary before an
// active opt-in), GDPR Art. 4(11) and 7 (specific, informed, unambiguous; withdrawal as
// easy as giving; the controller proves it), the EDPB Cookie Banner Taskforce report of
// January 2023 (reject on the first layer, equal buttons, nothing pre-ticked).
//
// Served with full-line comments and leading spaces removed (personvern.consent.assets),
// so comments cost nothing. Texts and categories come from /consent/config.json.
(function (w, d) {
"use strict";
var me = d.currentScript;
var base = me.src.replace(/\/consent\/banner\.js.*$/, "");
var gpc = navigator.globalPrivacyControl === true;
var lang = /^(nb|nn|no)\b/i.test(d.documentElement.lang) ? "nb" : "en";
var dl = (w.dataLayer = w.dataLayer || []);
var cfg, keys, state, box, panel, opener, bgr;
var gtag = function () { dl.push(arguments); };
// Google Consent Mode v2: each Google storage type and the category that grants it.
var G = {
  preferences: ["functionality_storage", "personalization_storage"],
  analytics: ["analytics_storage"],
  marketing: ["ad_storage", "ad_user_data", "ad_personalization"]
};
var gcm = (g) => {
  var o = { security_storage: "granted" };
  for (var k in G) G[k].forEach((s) => (o[s] = g.includes(k) ? "granted" : "denied"));
  return o;
};
// Before any Google tag can run: everything that needs consent is denied.
gtag("consent", "default", Object.assign(gcm([]), { wait_for_update: 500 }));
gtag("set", "ads_data_redaction", true);

var esc = (s) => String(s).replace(/[&<>"]/g, (c) => "&#" + c.charCodeAt(0) + ";");
var uuid = () =>
  "10000000-1000-4000-8000-100000000000".replace(/[018]/g, (c) =>
    (c ^ (crypto.getRandomValues(new Uint8Array(1))[0] & (15 >> (c / 4)))).toString(16)
  );
var glob = (p) =>
  new RegExp("^" + p.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*") + "$");

// The stored choice: consent id, policy version, granted and asked categories.
var read = () => {
  var m = d.cookie.match(new RegExp("(?:^|; )" + cfg.c + "=([^;]*)"));
  if (!m) return;
  var p = decodeURIComponent(m[1]).split(".");
  if (/^[0-9a-f-]{36}$/.test(p[0]))
    return { id: p[0], v: +p[1], g: p[2] ? p[2].split("-") : [], c: p[3] || "" };
};
var save = () => {
  d.cookie =
    cfg.c + "=" + encodeURIComponent([state.id, cfg.v, state.g.join("-"), keys.join("-")].join(".")) +
    ";path=/;max-age=" + cfg.d * 86400 + ";samesite=lax" +
    (location.protocol == "https:" ? ";secure" : "");
};

// Withdrawal removes the category's cookies and storage at once (names from the inventory).
var expire = (n) => {
  var h = location.hostname.split(".");
  for (var i = 0; i <= h.length; i++)
    d.cookie = n + "=;max-age=0;path=/" + (i < h.length ? ";domain=" + h.slice(i).join(".") : "");
};
var clear = (ks) =>
  cfg.cats.forEach((c) => {
    if (ks.includes(c.k))
      c.x.forEach((x) => {
        var re = glob(x[0]);
        if (x[1]) {
          var s = x[1] == 1 ? localStorage : sessionStorage;
          Object.keys(s).forEach((k) => re.test(k) && s.removeItem(k));
        } else d.cookie.split("; ").forEach((kv) => re.test(kv.split("=")[0]) && expire(kv.split("=")[0]));
      });
  });

// Scripts of a granted category run, now or when consent comes later on the page.
var run = () =>
  d.querySelectorAll('script[type="text/plain"][data-category]').forEach((s) => {
    var c = s.dataset.category;
    if (c != "necessary" && !state.g.includes(c)) return;
    var n = d.createElement("script");
    for (var a of s.attributes) if (!/^(type|data-src)$/.test(a.name)) n.setAttribute(a.name, a.value);
    if (s.nonce) n.nonce = s.nonce;
    n.async = false;
    if (s.dataset.src) n.src = s.dataset.src;
    else n.text = s.text;
    s.replaceWith(n);
  });
var apply = () => {
  gtag("consent", "update", gcm(state.g));
  run();
};

var choose = (g, method) => {
  state.g = g;
  state.v = cfg.v;
  save();
  clear(keys.filter((k) => !g.includes(k)));
  apply();
  close(1);
  fetch(base + "/api/v1/consents", {
    method: "POST",
    keepalive: true,
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({
      consent_id: state.id,
      site: location.origin,
      policy_version: cfg.v,
      texts_hash: cfg.h,
      granted: g,
      denied: keys.filter((k) => !g.includes(k)),
      method: method,
      gpc: gpc,
      language: lang,
      page: location.pathname
    })
  }).catch(() => 0);
};
// "Accept all" under GPC keeps marketing off; it then counts as method "gpc".
var all = () =>
  gpc && keys.includes("marketing")
    ? choose(keys.filter((k) => k != "marketing"), "gpc")
    : choose(keys, "accept_all");
var none = () => choose([], state.g.length ? "withdraw" : "reject_all");
var custom = () => {
  var g = keys.filter((k) => panel.querySelector('[data-k="' + k + '"]').checked);
  choose(g, state.g.some((k) => !g.includes(k)) && g.every((k) => state.g.includes(k)) ? "withdraw" : "custom");
};

// The UI: a first layer (non-modal dialog) and a settings layer (modal dialog).
var t = () => cfg.t;
var btns = (last) =>
  '<div class="pv-b"><button type="button" data-a="all">' + esc(t().accept) +
  '</button><button type="button" data-a="none">' + esc(t().reject) +
  '</button><button type="button" data-a="' + last[0] + '">' + esc(last[1]) + "</button></div>";
var link = () =>
  '<a href="' + base + "/privacy/cookies?lang=" + lang + '">' + esc(t().declaration) + "</a>";
var note = () => (gpc && keys.includes("marketing") ? '<p class="pv-n">' + esc(t().gpc) + "</p>" : "");
var mk = (cls, html, modal) => {
  var e = d.createElement("div");
  e.className = "pv " + cls;
  e.setAttribute("role", "dialog");
  e.setAttribute("lang", lang);
  e.setAttribute("aria-labelledby", cls + "-h");
  if (modal) e.setAttribute("aria-modal", "true");
  e.tabIndex = -1;
  e.innerHTML = html;
  e.addEventListener("click", (ev) => {
    var a = ev.target.closest("[data-a]");
    if (a) ({ all, none, save: custom, settings: open, close: back })[a.dataset.a]();
  });
  d.body.prepend(e);
  e.focus();
  return e;
};
var show = () => {
  box = mk(
    "pv-1",
    '<h2 id="pv-1-h">' + esc(t().title) + '</h2><p>' + esc(t().body) + " " + link() + "</p>" +
      note() + btns(["settings", t().settings])
  );
};
var open = (ev) => {
  if (!cfg || panel) return;
  opener = ev && ev.target ? ev.target : d.activeElement;
  if (box) box.hidden = true;
  bgr = d.createElement("div");
  bgr.className = "pv-bg";
  d.body.prepend(bgr);
  panel = mk(
    "pv-2",
    '<button type="button" class="pv-x" data-a="close" aria-label="' + esc(t().close) + '">×</button><h2 id="pv-2-h">' +
      esc(t().heading) + "</h2>" + note() +
      cfg.cats.map((c) =>
        '<div class="pv-c"><label><input type="checkbox" data-k="' + c.k + '"' +
          (c.l || state.g.includes(c.k) ? " checked" : "") + (c.l ? " disabled" : "") + "> <b>" + esc(c.n) +
          "</b>" + (c.l ? " <i>" + esc(t().on) + "</i>" : "") + "</label><p>" + esc(c.t) +
          "</p><details><summary>" + esc(t().list) + "</summary><ul>" +
          c.list.map((r) => "<li><b>" + esc(r[0]) + "</b> (" + esc(r[1]) + ", " + esc(r[2]) + "): " + esc(r[3]) + "</li>").join("") +
          "</ul></details></div>"
      ).join("") +
      "<p>" + link() +
      (state.v ? ' · <a href="' + base + "/privacy/consent?id=" + state.id + "&lang=" + lang + '">' + esc(t().receipt) + "</a>" : "") +
      "</p>" + btns(["save", t().save]),
    1
  );
  panel.addEventListener("keydown", trap);
};
// Focus stays in the settings layer; Esc closes it (back to the first layer, if open).
var trap = (e) => {
  if (e.key == "Escape") return back();
  if (e.key != "Tab") return;
  var f = panel.querySelectorAll("button,input:not([disabled]),a,summary");
  var first = f[0], last = f[f.length - 1];
  if (e.shiftKey ? d.activeElement == first || d.activeElement == panel : d.activeElement == last) {
    e.preventDefault();
    (e.shiftKey ? last : first).focus();
  }
};
var back = () => {
  close();
  if (box) {
    box.hidden = false;
    box.querySelector('[data-a="settings"]').focus();
  }
};
var close = (all) => {
  if (panel) panel.remove(), bgr.remove(), (panel = 0);
  if (all && box) box.remove(), (box = 0);
  if (!box && opener && opener.isConnected) opener.focus(), (opener = 0);
  if (all) reopen();
};
// A persistent way to change or withdraw, unless the page has its own link.
var reopen = () => {
  if (!d.querySelector("[data-personvern-open]")) {
    var b = d.createElement("button");
    b.type = "button";
    b.className = "pv-r";
    b.setAttribute("data-personvern-open", "");
    b.textContent = t().reopen;
    d.body.append(b);
  }
};

var start = (c) => {
  cfg = c;
  keys = cfg.cats.filter((x) => !x.l).map((x) => x.k);
  var s = read();
  state = s && s.v == cfg.v && s.c == keys.join("-") ? s : { id: s ? s.id : uuid(), g: [] };
  if (state.v) apply(), reopen();
  else if (keys.length) show();
  if (location.hash == "#personvern") open();
  if (location.hash == "#personvern-withdraw" && keys.length) none();
};
d.addEventListener("click", (e) => {
  var o = e.target.closest && e.target.closest("[data-personvern-open]");
  if (o) e.preventDefault(), open(e);
});
w.personvern = { open: () => open(), consent: () => state && state.g.slice() };

var css = new Promise((ok) => {
  var l = d.createElement("link");
  l.rel = "stylesheet";
  l.href = base + "/consent/banner.css";
  l.onload = l.onerror = ok;
  d.head.append(l);
});
Promise.all([
  fetch(base + "/consent/config.json?site=" + encodeURIComponent(location.origin) + "&lang=" + lang).then((r) => r.json()),
  css,
  new Promise((ok) => (d.readyState == "loading" ? d.addEventListener("DOMContentLoaded", ok) : ok()))
]).then((a) => start(a[0]));
})(window, document);
