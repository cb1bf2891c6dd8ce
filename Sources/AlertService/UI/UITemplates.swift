/// The web UI's Mustache templates, compiled into the binary (nothing is read
/// at run time). HTML mode: `{{value}}` is escaped, quotes included, so it is
/// safe in text and in double-quoted attributes; `{{{ }}}` is never used.
/// Links to event data are only values that passed `SafeURL` (http and https)
/// or URLs the pages build with `UIPage.queryValue`. No inline script or
/// style: the CSP of `UIPage.response` forbids them; behaviour hangs on
/// `data-` attributes read by `UIAssets.script`.
enum UITemplates {
    /// Each page's content; `UIPage` puts it between `header` and `footer`, inside `<main id="content">`.
    static let pages: [String: String] = [
        "alerts": alerts, "silences": silences, "silence-form": silenceForm, "notifications": notifications, "status": status,
    ]

    static let header = """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        {{#chrome}}<title>{{title}} · nats-alerter</title>{{/chrome}}
        <link rel="icon" href="/ui/assets/icon.svg" type="image/svg+xml">
        <link rel="stylesheet" href="/ui/assets/ui.css">
        <script src="/ui/assets/ui.js" defer></script>
        </head>
        <body>
        {{#chrome}}
        <header>
          <span class="brand">nats-alerter</span>
          <nav>{{#links}}<a href="{{href}}"{{#current}} aria-current="page"{{/current}}>{{title}}</a>{{/links}}</nav>
          {{#tokenNeeded}}
          <form id="token-form" class="token">
            <input type="password" name="token" placeholder="API token" autocomplete="current-password" aria-label="API token">
            <button type="submit">Unlock writes</button>
            <span class="message" id="token-message"></span>
          </form>
          {{/tokenNeeded}}
          {{#tokenAccepted}}<span class="token ok">writes unlocked</span>{{/tokenAccepted}}
        </header>
        {{/chrome}}
        <main id="content">
        """

    static let footer = """
        </main>
        {{#chrome}}<footer>nats-alerter {{version}}</footer>{{/chrome}}
        </body>
        </html>
        """

    static let alerts = """
        <div data-refresh="10" hidden></div>
        <form class="filter" method="get" action="/">
          <input type="text" name="filter" id="filter" value="{{filter}}" placeholder='{alertname="disk_full", severity=~"crit.*"}' aria-label="Filter (Alertmanager matchers)">
          <button type="submit">Filter</button>
          {{#filtered}}<a href="/">clear</a>{{/filtered}}
        </form>
        {{#filterError}}<p class="error">Filter: {{.}}</p>{{/filterError}}
        <p class="summary"><span id="alert-count">{{total}}</span> firing alerts{{#truncated}}. {{.}}{{/truncated}}</p>
        {{#receivers}}
        <section class="receiver">
          <h2>{{name}} <small>{{count}}</small></h2>
          {{#groups}}
          <div class="group">
            <div class="group-labels">{{#labels}}<a class="chip" href="{{href}}">{{name}}="{{value}}"</a>{{/labels}}{{^labels}}<span class="muted">(one group)</span>{{/labels}}</div>
            {{#alerts}}
            <article class="alert state-{{state}}" id="alert-{{fingerprint}}" data-fingerprint="{{fingerprint}}">
              <div class="alert-head">
                <span class="badge {{state}}">{{state}}</span>
                {{#silencedBy}}<a class="why" href="/ui/silences/new?id={{.}}">silenced by {{.}}</a>{{/silencedBy}}
                {{#inhibitedBy}}<a class="why" href="#alert-{{fingerprint}}">inhibited by {{alertname}} ({{fingerprint}})</a>{{/inhibitedBy}}
                <a class="action" href="{{silenceHref}}">Silence</a>
              </div>
              <div class="labels">{{#labels}}<a class="chip" href="{{href}}">{{name}}="{{value}}"</a>{{/labels}}</div>
              <dl class="annotations">
                {{#annotations}}<dt>{{name}}</dt><dd>{{#link}}<a href="{{.}}" rel="noopener noreferrer">{{.}}</a>{{/link}}{{^link}}{{value}}{{/link}}</dd>{{/annotations}}
                {{#generatorURL}}<dt>generator</dt><dd><a href="{{.}}" rel="noopener noreferrer">{{.}}</a></dd>{{/generatorURL}}
                {{#generatorText}}<dt>generator</dt><dd>{{.}}</dd>{{/generatorText}}
              </dl>
              <p class="meta">since <time>{{startsAt}}</time> · repeated {{repeatCount}}× · subject <code>{{subject}}</code> · fingerprint <code>{{fingerprint}}</code></p>
            </article>
            {{/alerts}}
          </div>
          {{/groups}}
        </section>
        {{/receivers}}
        {{^receivers}}<p class="empty">No firing alerts{{#filtered}} match the filter{{/filtered}}.</p>{{/receivers}}
        """

    static let silences = """
        <p><a class="button" href="/ui/silences/new">New silence</a> <span class="message" id="silence-message"></span></p>
        {{#sections}}
        <section class="silences">
          <h2>{{state}} <small>{{count}}</small></h2>
          {{#silences}}{{#silence}}
          <article class="silence" id="silence-{{id}}">
            <div class="matchers"><code>{{matchers}}</code></div>
            <p class="meta">{{startsAt}} → {{endsAt}} · by {{createdBy}} · id <code>{{id}}</code></p>
            <p class="comment">{{comment}}</p>
            <p><a href="{{editHref}}">Edit</a>{{#expirable}} <button type="button" data-expire="{{id}}">Expire</button>{{/expirable}}</p>
          </article>
          {{/silence}}{{/silences}}
          {{^silences}}<p class="empty">none</p>{{/silences}}
        </section>
        {{/sections}}
        """

    static let silenceForm = """
        <h1>{{#editing}}Edit silence{{/editing}}{{^editing}}New silence{{/editing}}</h1>
        {{#notFound}}<p class="error">{{.}}</p>{{/notFound}}
        <form id="silence-form" class="silence-form">
          {{#silence}}
          <input type="hidden" name="id" value="{{id}}">
          <label>Matchers <input type="text" name="matchers" value="{{matchers}}" placeholder='alertname="disk_full", instance=~"db-.*"' required></label>
          <label>Starts <input type="text" name="startsAt" value="{{startsAt}}" required></label>
          <label>Ends <input type="text" name="endsAt" value="{{endsAt}}" required></label>
          <p class="shortcuts">Duration from start: {{#shortcuts}}<button type="button" data-duration="{{seconds}}">{{label}}</button>{{/shortcuts}}</p>
          <label>Created by <input type="text" name="createdBy" value="{{createdBy}}" required></label>
          <label>Comment <input type="text" name="comment" value="{{comment}}" required></label>
          {{/silence}}
          <p>
            <button type="button" id="preview-button">Preview</button>
            <button type="submit" id="save-button">{{#editing}}Update{{/editing}}{{^editing}}Create{{/editing}}</button>
            <span class="message" id="silence-message"></span>
          </p>
        </form>
        <section id="preview" hidden>
          <h2>Alerts this silence would mute: <span id="preview-count"></span></h2>
          <ul id="preview-list"></ul>
        </section>
        """

    static let notifications = """
        <p class="summary">The last outcomes of each integration, newest first. The id is what receivers get in <code>X-Nats-Alerter-Notification-Id</code>.</p>
        {{#receivers}}
        <section class="receiver">
          <h2>{{name}}</h2>
          {{#integrations}}
          <h3>{{name}}</h3>
          <table class="history">
            <thead><tr><th>outcome</th><th>at</th><th>notification id</th><th>alerts</th><th>attempts</th><th>next attempt</th><th>reason</th><th>error</th></tr></thead>
            <tbody>
            {{#entries}}
            <tr class="outcome-{{outcome}}">
              <td><span class="badge {{outcome}}">{{outcome}}</span></td><td><time>{{at}}</time></td><td><code>{{notificationID}}</code></td>
              <td>{{firing}} firing, {{resolved}} resolved</td><td>{{attempts}}</td><td>{{#nextAttemptAt}}<time>{{.}}</time>{{/nextAttemptAt}}</td><td>{{reason}}</td><td>{{error}}</td>
            </tr>
            {{/entries}}
            </tbody>
          </table>
          {{/integrations}}
          {{^integrations}}<p class="empty">nothing sent yet</p>{{/integrations}}
        </section>
        {{/receivers}}
        """

    static let status = """
        <table class="facts">
          <tr><th>version</th><td>nats-alerter {{version}}</td></tr>
          <tr><th>started</th><td>{{startedAt}} (up {{uptime}})</td></tr>
          <tr><th>NATS connection</th><td id="nats-state">{{nats}}</td></tr>
          <tr><th>delivery</th><td>{{mode}}</td></tr>
          {{#outboxBacklog}}<tr><th>outbox backlog</th><td id="outbox-backlog">{{.}}</td></tr>{{/outboxBacklog}}
        </table>
        <h2>Dead letters</h2>
        <table class="history">
          <thead><tr><th>receiver</th><th>integration</th><th>reason</th><th>count</th></tr></thead>
          <tbody>{{#deadLetters}}<tr><td>{{receiver}}</td><td>{{integration}}</td><td>{{reason}}</td><td>{{count}}</td></tr>{{/deadLetters}}</tbody>
        </table>
        {{^deadLetters}}<p class="empty">none</p>{{/deadLetters}}
        <h2>Configuration</h2>
        <p class="summary">As running, secrets shown as <code>&lt;secret&gt;</code>.</p>
        <pre class="config">{{config}}</pre>
        """
}
