/// The default templates, written for the person paged at 3 a.m.: what
/// fired, where, since when, how often it was reported, value against
/// threshold, and where to look. Override any of them with a file of the
/// same name under `templates:`.
enum BuiltInTemplates {
    static let all: [String: String] = [
        "slack.title": """
            [{{statusUpper}}{{#hasFiring}}: {{firingCount}}{{/hasFiring}}] {{groupLabelsText}}
            """,
        "slack.text": """
            {{#firing}}
            :rotating_light: *{{labels.alertname}}*{{#labels.source}} on `{{labels.source}}`{{/labels.source}}{{#labels.severity}} ({{labels.severity}}){{/labels.severity}}
            {{#annotations.summary}}{{annotations.summary}}
            {{/annotations.summary}}since {{startsAtText}}{{#hasRepeats}} · {{repeatText}}{{/hasRepeats}}{{#valueText}} · {{valueText}}{{/valueText}}{{#iteration}} · iteration {{iteration}}{{/iteration}}{{#generatorURL}} · <{{generatorURL}}|source>{{/generatorURL}}
            {{/firing}}
            {{#resolved}}
            :white_check_mark: *{{labels.alertname}}*{{#labels.source}} on `{{labels.source}}`{{/labels.source}} resolved after {{durationText}}
            {{/resolved}}
            """,
        "email.subject": """
            [{{statusUpper}}{{#hasFiring}}:{{firingCount}}{{/hasFiring}}] {{groupLabelsText}}
            """,
        "email.text": """
            {{#hasFiring}}FIRING ({{firingCount}})
            {{#firing}}
            - {{labels.alertname}}{{#labels.source}} on {{labels.source}}{{/labels.source}}{{#annotations.summary}}: {{annotations.summary}}{{/annotations.summary}}
              since {{startsAtText}}{{#hasRepeats}}, {{repeatText}}{{/hasRepeats}}{{#valueText}}, {{valueText}}{{/valueText}}
              {{#labelList}}{{name}}={{value}} {{/labelList}}
            {{#annotationList}}  {{name}}: {{value}}
            {{/annotationList}}{{#generatorURL}}  source: {{generatorURL}}
            {{/generatorURL}}
            {{/firing}}
            {{/hasFiring}}
            {{#hasResolved}}RESOLVED ({{resolvedCount}})
            {{#resolved}}
            - {{labels.alertname}}{{#labels.source}} on {{labels.source}}{{/labels.source}}, resolved after {{durationText}}
            {{/resolved}}
            {{/hasResolved}}
            Receiver: {{receiver}} · group {{groupLabelsText}}
            """,
        "email.html": """
            <html><body style="font-family: sans-serif">
            {{#hasFiring}}<h2 style="color:#b00">Firing: {{firingCount}}</h2>
            {{#firing}}
            <div style="margin-bottom:1em">
            <b>{{labels.alertname}}</b>{{#labels.source}} on <code>{{labels.source}}</code>{{/labels.source}}{{#annotations.summary}} — {{annotations.summary}}{{/annotations.summary}}<br>
            since {{startsAtText}}{{#hasRepeats}} · {{repeatText}}{{/hasRepeats}}{{#valueText}} · {{valueText}}{{/valueText}}<br>
            <small>{{#labelList}}{{name}}=<code>{{value}}</code> {{/labelList}}</small>
            {{#annotationList}}<br><small>{{name}}: {{value}}</small>{{/annotationList}}
            {{#generatorURL}}<br><a href="{{generatorURL}}">source</a>{{/generatorURL}}
            </div>
            {{/firing}}
            {{/hasFiring}}
            {{#hasResolved}}<h2 style="color:#070">Resolved: {{resolvedCount}}</h2>
            {{#resolved}}<div><b>{{labels.alertname}}</b>{{#labels.source}} on <code>{{labels.source}}</code>{{/labels.source}}, resolved after {{durationText}}</div>
            {{/resolved}}
            {{/hasResolved}}
            <p><small>Receiver {{receiver}} · group {{groupLabelsText}}</small></p>
            </body></html>
            """,
    ]
}
