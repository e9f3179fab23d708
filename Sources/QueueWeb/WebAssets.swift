/// The dashboard's style sheet and script, embedded in the binary: no CDN, no
/// build step, and the Content-Security-Policy can forbid everything inline.
enum WebAssets {
    static let css = """
    :root{--bg:#fff;--fg:#1d2330;--mute:#687084;--line:#e2e5ec;--acc:#2f5fd0}
    *{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,sans-serif;color:var(--fg);background:var(--bg)}
    header{display:flex;gap:1.2em;align-items:center;padding:.6em 1.2em;background:#1d2330;color:#fff}
    header a{color:#cfd6ea;text-decoration:none}header a:hover{color:#fff}header b{margin-right:1em}
    main{padding:1em 1.2em;max-width:1200px}
    h1{font-size:1.3em;margin:.2em 0 .6em}h2{font-size:1.05em;margin:1.4em 0 .5em}
    table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.3em .6em;border-bottom:1px solid var(--line);vertical-align:top}
    th{color:var(--mute);font-weight:600}td.n{text-align:right;font-variant-numeric:tabular-nums}
    code,pre{font:12.5px/1.4 ui-monospace,monospace}pre{background:#f5f6f9;padding:.7em;overflow:auto;white-space:pre-wrap;word-break:break-all}
    .ctl{color:#b00;background:#fee}
    .tabs a{display:inline-block;padding:.25em .7em;margin-right:.3em;border:1px solid var(--line);border-radius:4px;text-decoration:none;color:var(--fg)}
    .tabs a.on{background:var(--acc);color:#fff;border-color:var(--acc)}
    .st{padding:0 .4em;border-radius:3px;font-size:12px}.st-completed{background:#dff3e4}.st-failed{background:#fdecd2}
    .st-dead{background:#f9d9d9}.st-processing{background:#dce7fb}.st-pending{background:#eceef3}.st-scheduled{background:#efe4fb}
    .cards{display:flex;flex-wrap:wrap;gap:.6em}.card{border:1px solid var(--line);border-radius:6px;padding:.5em .9em;min-width:7em;text-decoration:none;color:var(--fg)}
    .card b{display:block;font-size:1.5em}.mute{color:var(--mute)}form.inline{display:inline}
    button{font:inherit;padding:.15em .7em;border:1px solid var(--acc);background:#fff;color:var(--acc);border-radius:4px;cursor:pointer}
    button:hover{background:var(--acc);color:#fff}.pager{margin-top:.8em}.pager a{margin-right:1em}
    svg.chart rect.ok{fill:#5aa469}svg.chart rect.bad{fill:#d9534f}
    """

    /// Follows the server's change feed for this page (`/events?page=…&v=…`, the
    /// version being `<main data-v>`: the server tells only of a page that changed)
    /// and swaps in the freshly rendered `<main>`, at most once a second.
    static let js = """
    (function(){
      if(!window.EventSource)return;
      var busy=false,again=false;
      function refresh(){
        if(busy){again=true;return}busy=true;
        fetch(location.href,{credentials:'same-origin'}).then(function(r){return r.ok?r.text():null}).then(function(t){
          if(t){var d=new DOMParser().parseFromString(t,'text/html');var m=d.querySelector('main'),cur=document.querySelector('main');
            if(m&&cur&&!cur.contains(document.activeElement)){cur.replaceWith(m)}}
        }).catch(function(){}).then(function(){setTimeout(function(){busy=false;if(again){again=false;refresh()}},1000)});
      }
      var m=document.querySelector('main'),v=m&&m.getAttribute('data-v')||'';
      var es=new EventSource('/events?page='+encodeURIComponent(location.pathname+location.search)+'&v='+encodeURIComponent(v));
      es.addEventListener('change',refresh);
    })();
    """
}
