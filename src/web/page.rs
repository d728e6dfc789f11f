//! `web::page`: the one page layout (head, a little CSS that reads well on a phone, navigation).
//! Every link is relative to `root` (see [`super::root_of`]), so pages work under a proxy's prefix.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use super::escape;

const CSS: &str = "\
:root{--fg:#1b1f24;--muted:#5f6b7a;--line:#e3e7ec;--accent:#3e6ae1;--ok:#137333;--bad:#b3261e;--bg:#f6f7f9}\
*{box-sizing:border-box}\
body{font:16px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:var(--fg);background:var(--bg);margin:0}\
header{background:#fff;border-bottom:1px solid var(--line);padding:.7em 1em;display:flex;gap:1em;align-items:center;flex-wrap:wrap}\
header b{font-size:1.15em;margin-right:auto}\
header a{color:var(--accent);text-decoration:none}\
main{max-width:46em;margin:0 auto;padding:1em}\
h1{font-size:1.4em;margin:.3em 0 .6em}h2{font-size:1.15em;margin:0 0 .5em}\
.card{background:#fff;border:1px solid var(--line);border-radius:10px;padding:1em;margin:0 0 1em}\
.muted{color:var(--muted)}.bad{color:var(--bad)}.ok{color:var(--ok)}\
.grid{display:grid;grid-template-columns:max-content 1fr;gap:.25em 1em}\
.grid span:nth-child(odd){color:var(--muted)}\
.pill{display:inline-block;border-radius:99px;padding:0 .6em;font-size:.85em;border:1px solid var(--line)}\
.pill.ok{border-color:var(--ok)}.pill.bad{border-color:var(--bad)}\
button,a.button{font:inherit;padding:.45em 1em;background:var(--accent);color:#fff;border:0;border-radius:6px;text-decoration:none;display:inline-block;cursor:pointer}\
button.plain{background:#fff;color:var(--accent);border:1px solid var(--accent)}\
input{font:inherit;padding:.4em;border:1px solid var(--line);border-radius:6px;max-width:100%}\
code{font-size:.9em;word-break:break-all}\
details summary{cursor:pointer;color:var(--accent)}\
table{border-collapse:collapse;width:100%}td{padding:.2em .4em;border-bottom:1px solid var(--line);vertical-align:top}\
ol.steps{padding-left:1.2em}ol.steps li{margin-bottom:1em}\
.qr svg{width:200px;height:200px}";

/// A whole page. `body_html` is trusted HTML (callers escape what they put in).
pub fn html(title: &str, root: &str, body_html: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>TeslaSync — {t}</title><style>{CSS}</style></head><body>\
         <header><b>TeslaSync</b><a href=\"{root}\">Status</a><a href=\"{root}setup\">Set-up</a></header>\
         <main><h1>{t}</h1>{body_html}</main></body></html>",
        t = escape(title),
    )
}

pub fn response(status: StatusCode, title: &str, root: &str, body_html: &str) -> Response {
    (status, Html(html(title, root, body_html))).into_response()
}
