/// The web UI's stylesheet, script and icon, compiled into the binary and
/// served under `/ui/assets/`. The script has no dependencies; it reads
/// `data-` attributes (the CSP forbids inline handlers) and writes with
/// `textContent` only, never `innerHTML` with data.
enum UIAssets {
    static let stylesheet = """
        :root { --fg: #1d2430; --muted: #5d6778; --line: #d9dee7; --bg: #f6f7f9; --accent: #2457c5;
                --active: #b3261e; --silenced: #6b6f76; --inhibited: #8a5a00; --ok: #1d7a38; }
        * { box-sizing: border-box; }
        body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
        header { display: flex; flex-wrap: wrap; align-items: center; gap: 1rem; padding: .6rem 1.2rem; background: #1d2430; color: #fff; }
        header .brand { font-weight: 600; }
        header nav a { color: #cfd8ea; margin-right: .9rem; text-decoration: none; }
        header nav a[aria-current="page"] { color: #fff; border-bottom: 2px solid #fff; }
        header .token { margin-left: auto; display: flex; gap: .4rem; align-items: center; }
        header .token.ok { color: #9fe0b0; }
        header .message { color: #ffb4ab; }
        main { padding: 1rem 1.2rem; max-width: 1200px; }
        footer { padding: 1rem 1.2rem; color: var(--muted); font-size: 12px; }
        h1 { font-size: 20px; } h2 { font-size: 16px; margin: 1.2rem 0 .5rem; } h3 { font-size: 14px; margin: .8rem 0 .3rem; }
        h2 small { color: var(--muted); font-weight: normal; }
        a { color: var(--accent); }
        code, pre { font: 12px/1.4 ui-monospace, SFMono-Regular, Menlo, monospace; }
        input[type=text], input[type=password] { padding: .35rem .5rem; border: 1px solid var(--line); border-radius: 4px; font: inherit; }
        button, a.button { padding: .35rem .8rem; border: 1px solid var(--accent); border-radius: 4px; background: #fff; color: var(--accent);
                           font: inherit; cursor: pointer; text-decoration: none; }
        button[type=submit] { background: var(--accent); color: #fff; }
        form.filter { display: flex; gap: .5rem; align-items: center; }
        form.filter input { flex: 1; }
        .error, .message { color: var(--active); }
        .summary, .muted, .empty, .meta { color: var(--muted); }
        .group { background: #fff; border: 1px solid var(--line); border-radius: 6px; margin: .6rem 0; padding: .6rem .8rem; }
        .group-labels { margin-bottom: .4rem; }
        .alert { border-top: 1px solid var(--line); padding: .5rem 0; }
        .alert-head { display: flex; flex-wrap: wrap; gap: .6rem; align-items: center; }
        .alert-head .action { margin-left: auto; }
        .badge { display: inline-block; padding: 0 .45rem; border-radius: 3px; color: #fff; font-size: 12px; background: var(--muted); }
        .badge.active, .badge.failed, .badge.dead_lettered { background: var(--active); }
        .badge.silenced { background: var(--silenced); }
        .badge.inhibited, .badge.retrying { background: var(--inhibited); }
        .badge.sent { background: var(--ok); }
        .chip { display: inline-block; margin: .15rem .25rem .15rem 0; padding: 0 .4rem; border: 1px solid var(--line); border-radius: 10px;
                background: var(--bg); color: var(--fg); text-decoration: none; font-size: 12px; overflow-wrap: anywhere; }
        .chip:hover { border-color: var(--accent); }
        dl.annotations { display: grid; grid-template-columns: max-content 1fr; gap: .1rem .8rem; margin: .3rem 0; }
        dl.annotations dt { color: var(--muted); } dl.annotations dd { margin: 0; overflow-wrap: anywhere; }
        .silence { background: #fff; border: 1px solid var(--line); border-radius: 6px; margin: .5rem 0; padding: .5rem .8rem; }
        .silence p { margin: .25rem 0; }
        .silence-form label { display: block; margin: .5rem 0; }
        .silence-form label input { display: block; width: 100%; max-width: 640px; }
        .shortcuts button { margin-right: .3rem; }
        table { border-collapse: collapse; background: #fff; width: 100%; }
        th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; overflow-wrap: break-word; }
        th, .badge, time { white-space: nowrap; }
        table.facts { width: auto; } table.facts th { color: var(--muted); font-weight: normal; }
        pre.config { background: #fff; border: 1px solid var(--line); padding: .8rem; overflow: auto; }
        [hidden] { display: none !important; }
        """

    static let script = """
        "use strict";
        (function () {
          const json = { "Content-Type": "application/json" };

          // The API answers errors as a JSON string.
          async function failure(response) {
            const text = await response.text();
            try { const value = JSON.parse(text); if (typeof value === "string") return value; } catch (e) { /* not JSON */ }
            return text || (response.status + " " + response.statusText);
          }

          function say(id, text) {
            const element = document.getElementById(id);
            if (element) element.textContent = text;
          }

          // The token, once: the server answers with an HttpOnly cookie writes then carry.
          const tokenForm = document.getElementById("token-form");
          if (tokenForm) tokenForm.addEventListener("submit", async (event) => {
            event.preventDefault();
            const token = tokenForm.elements.token.value;
            const response = await fetch("/ui/session", { method: "POST", headers: { ...json, "Authorization": "Bearer " + token }, body: "{}" });
            if (response.ok) { location.reload(); } else { say("token-message", await failure(response)); }
          });

          // Expire buttons on the silences page.
          document.addEventListener("click", async (event) => {
            const button = event.target.closest("[data-expire]");
            if (!button) return;
            const response = await fetch("/api/v2/silence/" + encodeURIComponent(button.dataset.expire), { method: "DELETE", headers: json });
            if (response.ok) { location.reload(); } else { say("silence-message", await failure(response)); }
          });

          // The silence form: duration shortcuts, preview, save.
          const form = document.getElementById("silence-form");
          if (form) {
            const field = (name) => form.elements[name];
            form.addEventListener("click", (event) => {
              const button = event.target.closest("[data-duration]");
              if (!button) return;
              const start = Date.parse(field("startsAt").value);
              const from = isNaN(start) ? Date.now() : start;
              field("endsAt").value = new Date(from + Number(button.dataset.duration) * 1000).toISOString();
            });

            async function preview() {
              const response = await fetch("/ui/silence-preview?matchers=" + encodeURIComponent(field("matchers").value));
              if (!response.ok) { say("silence-message", await failure(response)); return null; }
              const result = await response.json();
              const list = document.getElementById("preview-list");
              list.replaceChildren(...result.alerts.map((alert) => {
                const item = document.createElement("li");
                const code = document.createElement("code");
                code.textContent = alert.labels;
                item.append(code);
                return item;
              }));
              say("preview-count", String(result.alerts.length));
              document.getElementById("preview").hidden = false;
              return result;
            }

            document.getElementById("preview-button").addEventListener("click", () => { say("silence-message", ""); preview(); });
            form.addEventListener("submit", async (event) => {
              event.preventDefault();
              say("silence-message", "");
              const checked = await preview();
              if (!checked) return;
              const silence = {
                matchers: checked.matchers, startsAt: field("startsAt").value, endsAt: field("endsAt").value,
                createdBy: field("createdBy").value, comment: field("comment").value,
              };
              if (field("id").value) silence.id = field("id").value;
              const response = await fetch("/api/v2/silences", { method: "POST", headers: json, body: JSON.stringify(silence) });
              if (response.ok) { location.assign("/ui/silences"); } else { say("silence-message", await failure(response)); }
            });
          }

          // Auto-refresh: a page whose content says data-refresh is fetched again
          // and swapped in, unless the filter box is being typed in.
          const content = document.querySelector("[data-refresh]");
          if (content) {
            setInterval(async () => {
              if (document.activeElement && document.activeElement.id === "filter") return;
              try {
                const response = await fetch(location.href, { headers: { "Accept": "text/html" } });
                if (!response.ok) return;
                const page = new DOMParser().parseFromString(await response.text(), "text/html");
                const fresh = page.getElementById("content");
                const current = document.getElementById("content");
                if (fresh && current) current.replaceWith(document.adoptNode(fresh));
              } catch (e) { /* the next round tries again */ }
            }, Number(content.dataset.refresh) * 1000);
          }
        })();
        """

    static let icon = """
        <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><circle cx="8" cy="8" r="7" fill="#b3261e"/><rect x="7" y="3.5" width="2" height="6" fill="#fff"/><rect x="7" y="11" width="2" height="2" fill="#fff"/></svg>
        """
}
