/**
 * The status page: one self-contained HTML document (inline CSS and JS, no external request of any
 * kind) so it works from the single binary on an air-gapped host. The first status is embedded; the
 * script re-renders it from `status.json` every {@link REFRESH_SECONDS} seconds.
 */
import type { Status } from "./status_model.ts";

/** How often the page asks for a fresh status. */
const REFRESH_SECONDS = 10;

const CSS = `
:root{--ok:#1b7f3b;--bad:#b3261e;--warn:#a15c00;--mute:#5f6368;--line:#dadce0;font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
body{margin:0;background:#f6f7f9;color:#202124}
header{padding:18px 28px;color:#fff;background:var(--mute)}
header.ok{background:var(--ok)}header.bad{background:var(--bad)}header.warn{background:var(--warn)}
header h1{margin:0;font-size:24px}header p{margin:6px 0 0;font-size:15px;opacity:.95}
main{display:grid;grid-template-columns:repeat(auto-fit,minmax(330px,1fr));gap:16px;padding:20px 28px}
section{background:#fff;border:1px solid var(--line);border-radius:8px;padding:14px 18px}
section h2{margin:0 0 10px;font-size:17px;display:flex;justify-content:space-between;gap:8px}
.badge{font-size:12px;font-weight:600;padding:2px 8px;border-radius:10px;color:#fff;background:var(--mute);white-space:nowrap}
.badge.ok{background:var(--ok)}.badge.bad{background:var(--bad)}.badge.warn{background:var(--warn)}
table{border-collapse:collapse;width:100%;font-size:14px}td{padding:3px 0;vertical-align:top}td:first-child{color:var(--mute);width:42%;padding-right:8px}
h3{font-size:14px;margin:12px 0 4px}.err{color:var(--bad)}.mute{color:var(--mute)}
ul.problems{margin:0;padding:10px 28px 0 46px;color:var(--bad)}
footer{padding:0 28px 20px;color:var(--mute);font-size:13px}
`;

// Runs in the browser: builds the page from the status object with textContent only (no HTML from data).
const SCRIPT = `
(function(){
var REFRESH=${REFRESH_SECONDS}*1000;
function el(tag,cls,text){var e=document.createElement(tag);if(cls)e.className=cls;if(text!=null)e.textContent=String(text);return e}
function age(ms){if(ms==null)return "—";var s=Math.round(ms/1000);if(s<90)return s+" s";var m=Math.round(s/60);if(m<90)return m+" min";var h=Math.floor(s/3600);if(h<48)return h+" h "+Math.round((s-h*3600)/60)+" min";return Math.round(s/86400)+" days"}
function bytes(n){if(n==null)return "—";var u=["B","KiB","MiB","GiB","TiB"],i=0;while(n>=1024&&i<u.length-1){n/=1024;i++}return (i?n.toFixed(1):n)+" "+u[i]}
function when(t){return t?t.replace("T"," ").replace(/\\.\\d+Z$|Z$/," UTC"):"—"}
function rows(t,pairs){pairs.forEach(function(p){var tr=el("tr");tr.appendChild(el("td",null,p[0]));var td=el("td",p[2]||null,p[1]);tr.appendChild(td);t.appendChild(tr)});return t}
function card(id,title,badge,cls){var s=el("section");s.id=id;var h=el("h2");h.appendChild(el("span",null,title));h.appendChild(el("span","badge "+cls,badge));s.appendChild(h);return s}
function archives(a){var l=a.local,r=a.remote,any=(l.count+(r?r.count:0))>0,err=l.error||(r&&r.error);
var s=card("archives","Archives",any?(err?"partial":"available"):(err?"error":"none"),any?(err?"warn":"ok"):"bad");
[["Local",l],["Remote",r]].forEach(function(x){var loc=x[1];s.appendChild(el("h3",null,x[0]+(loc?": "+loc.where:": not configured")));if(!loc)return;
if(loc.error){s.appendChild(el("div","err",loc.error));return}
var n=loc.newest;s.appendChild(rows(el("table"),[["Archives",loc.count+" ("+bytes(loc.total_bytes)+")"],["Newest",n?n.name:"none"],["Newest age",age(loc.newest_age_ms)],
["Encrypted",n?(n.encrypted==null?"unknown":n.encrypted?"yes":"no"):"—"],["Verified",n?(n.verified_by_drill?"yes (restored by the last drill)":n.sidecar?"checksum sidecar only":"no"):"—",n&&!n.verified_by_drill?"mute":null]]))});return s}
function snapshots(sn){var rs=sn.resources,failed=rs.filter(function(r){return (r.last_run&&r.last_run.status==="failed")||r.error}).length,have=rs.filter(function(r){return r.count>0}).length;
var s=card("snapshots","Snapshots & dumps",rs.length?(failed?failed+" failing":have+"/"+rs.length+" with snapshots"):"not configured",rs.length?(failed?"bad":have===rs.length?"ok":"warn"):"");
if(!rs.length)s.appendChild(el("div","mute","No configcrate resource of type backup or db_backup under "+sn.crates_dir));
rs.forEach(function(r){s.appendChild(el("h3",null,r.crate+" / "+r.resource+" ("+(r.type==="db_backup"?"SQL dumps":"hardlink snapshots")+")"));
if(r.error)s.appendChild(el("div","err",r.error));var lr=r.last_run;
s.appendChild(rows(el("table"),[["Snapshots",r.count],["Newest",r.newest?r.newest.name+" ("+age(r.newest_age_ms)+" old)":"none"],["Unique bytes",bytes(r.unique_bytes)],
["Last run",lr?when(lr.ran_at)+": "+lr.status+(lr.reason?" — "+lr.reason:""):"not recorded",lr&&lr.status==="failed"?"err":null]]))});
sn.errors.forEach(function(e){s.appendChild(el("div","err",e))});return s}
function replication(r){if(!r.url){var n=card("replication","Replication","not configured","");n.appendChild(el("div","mute","No backup.url in server.yaml"));return n}
var lv=r.live,bad=!!r.error||!r.latest_generation,warn=lv&&(!lv.reachable||!lv.healthy);
var s=card("replication","Replication",bad?"failing":!lv?"no replicator asked":warn?"lagging":"current",bad?"bad":warn||!lv?"warn":"ok");
var p=r.newest_position;s.appendChild(rows(el("table"),[["Replica",r.url],["Generations",r.generations],["Latest generation",r.latest_generation||"none"],
["Newest WAL position",p?("00000000"+p.index.toString(16)).slice(-8)+":"+p.offset:"—"],["Last upload",when(r.updated_at)],["Data age (lag)",age(r.lag_ms)]]));
if(r.error)s.appendChild(el("div","err",r.error));
if(lv){s.appendChild(el("h3",null,"Running replicator ("+lv.url+")"));if(!lv.reachable)s.appendChild(el("div","err","not reachable: "+lv.error));
else s.appendChild(rows(el("table"),[["Health",lv.healthy?"current":"NOT current",lv.healthy?null:"err"],["Lag",age(lv.lag_ms)],["Last upload",when(lv.last_upload_at)],["Last error",lv.last_error||"none",lv.last_error?"err":null]]))}
return s}
function drill(d,e){if(!d){var n=card("drill","Last drill",e?"unreadable":"never run",e?"bad":"warn");n.appendChild(el("div",e?"err":"mute",e||"No drill report yet: run vigocli backup drill (or enable vigocli-drill.timer)"));return n}
var r=d.report,v=r.ok?"PASSED":Object.keys(r.paths).some(function(k){return r.paths[k].status==="fail"})?"FAILED":"INCOMPLETE",s=card("drill","Last drill",v,r.ok?"ok":"bad");s.appendChild(rows(el("table"),[["Finished",when(r.finished_at)],["Result",v==="PASSED"?"passed":v,r.ok?null:"err"]]));
Object.keys(r.paths).forEach(function(k){var p=r.paths[k];s.appendChild(el("h3",null,k));s.appendChild(rows(el("table"),[["Status",p.status==="not_configured"?"not configured":p.status==="pass"?"pass":p.status==="error"?"could not check":"FAIL",p.status==="pass"||p.status==="not_configured"?null:"err"],
["RPO (data age)",age(p.rpo_seconds==null?null:p.rpo_seconds*1000)],["RTO (restore time)",p.rto_ms==null?"—":(p.rto_ms/1000).toFixed(1)+" s"]].concat(p.message?[["Message",p.message,p.status==="fail"||p.status==="error"?"err":"mute"]]:[])))});return s}
function render(st){var sm=st.summary,h=document.querySelector("header"),bad=!sm.recoverable,warn=sm.problems.length>0;
h.className=bad?"bad":warn?"warn":"ok";h.querySelector("h1").textContent=bad?"NOT recoverable: no backup found":"Recoverable"+(warn?", with problems":"");
h.querySelector("p").textContent=bad?"No archive, snapshot or replica could be found for "+st.server_root:"Newest recoverable data is "+age(sm.best_age_ms)+" old (from the "+sm.best_path+"). Server root "+st.server_root;
var ul=document.querySelector("ul.problems");ul.textContent="";sm.problems.forEach(function(p){ul.appendChild(el("li",null,p))});
var m=document.querySelector("main");m.textContent="";[replication(st.replication),archives(st.archives),snapshots(st.snapshots),drill(st.drill,st.drill_error)].forEach(function(c){m.appendChild(c)});
document.getElementById("updated").textContent="Status of "+when(st.generated_at)+"; refreshes every "+(REFRESH/1000)+" s."}
/* a URL query, not a form: a "+" in the token is a plus */var tm=/[?&]token=([^&]*)/.exec(location.search),token=tm?decodeURIComponent(tm[1]):null;
function refresh(){fetch("status.json",{headers:token?{authorization:"Bearer "+token}:{},cache:"no-store"}).then(function(r){if(!r.ok)throw new Error("HTTP "+r.status);return r.json()})
.then(function(st){render(st);document.body.dataset.refreshed=String(Date.now())}).catch(function(e){document.getElementById("updated").textContent="Refresh failed: "+e.message+" (showing the last status)"})}
render(JSON.parse(document.getElementById("status-data").textContent));setInterval(refresh,REFRESH);
})();
`;

/** The page with `status` embedded (the script escapes nothing into HTML; data goes through textContent). */
export function statusPage(status: Status): string {
  const data = JSON.stringify(status).replaceAll("<", "\\u003c");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>vigocli backup status</title><style>${CSS}</style></head>
<body><header><h1>Loading…</h1><p></p></header><ul class="problems"></ul><main></main>
<footer><span id="updated"></span> vigocli backup status</footer>
<script id="status-data" type="application/json">${data}</script>
<script>${SCRIPT}</script></body></html>
`;
}
