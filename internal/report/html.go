package report

import (
	"fmt"
	"html/template"
	"io"
	"time"
)

// HTML writes the report as one self-contained page: inline CSS and SVG,
// no scripts, no external assets, so it opens from the archive folder on
// any machine. Numbers appear as text next to each bar, so the page reads
// the same without colour and survives copy and paste.
func (r *Report) HTML(w io.Writer) error {
	rows := r.sorted()
	var maxItems int
	var maxBytes int64
	for _, row := range rows {
		maxItems = max(maxItems, count(row, r.Primary))
		maxBytes = max(maxBytes, row.Bytes)
	}
	var maxRound int64
	for _, rd := range r.Rounds {
		maxRound = max(maxRound, rd.Bytes)
	}
	type bar struct {
		Mailbox     string
		Items       int
		Bytes       string
		ItemsW      int
		BytesW      int
		Counts      []int
		Problems    []Problem
		Err         string
		Seconds     string
		ProblemSpan int
	}
	type roundRow struct {
		Round
		Size  string
		W     int
		When  string
		State string
	}
	data := struct {
		R                   *Report
		Title, Primary      string
		Bars                []bar
		Rounds              []roundRow
		Items, Problems     int
		Bytes, Took, Thrott string
		Started             string
		ThrottledPct        string
	}{R: r, Title: r.Title, Bytes: mb(r.Bytes()), Took: r.Took.Round(time.Millisecond).String(),
		Thrott: r.Throttled.Round(time.Millisecond).String(), Started: r.Started.UTC().Format("2006-01-02 15:04:05 UTC")}
	if data.Title == "" {
		data.Title = r.Command + " report"
	}
	if r.Primary < len(r.Columns) {
		data.Primary = r.Columns[r.Primary]
		data.Items = r.Total(r.Primary)
	}
	if r.Took > 0 {
		data.ThrottledPct = fmt.Sprintf("%.0f%%", 100*r.Throttled.Seconds()/r.Took.Seconds())
	}
	for _, row := range rows {
		b := bar{Mailbox: row.Mailbox, Items: count(row, r.Primary), Bytes: mb(row.Bytes), Counts: row.Counts,
			Problems: row.Problems, Err: row.Err, Seconds: fmt.Sprintf("%.1f s", row.Seconds)}
		b.ItemsW = scale(int64(b.Items), int64(maxItems))
		b.BytesW = scale(row.Bytes, maxBytes)
		for _, p := range row.Problems {
			if p.Kind != "filtered" {
				data.Problems += p.Count
			}
		}
		data.Bars = append(data.Bars, b)
	}
	for _, rd := range r.Rounds {
		state := "complete"
		if !rd.Final {
			state = "in progress or interrupted"
		}
		data.Rounds = append(data.Rounds, roundRow{Round: rd, Size: mb(rd.Bytes), W: scale(rd.Bytes, maxRound),
			When: rd.Created.UTC().Format("2006-01-02 15:04 UTC"), State: state})
	}
	return page.Execute(w, data)
}

func count(row Row, i int) int {
	if i < len(row.Counts) {
		return row.Counts[i]
	}
	return 0
}

// scale maps v in [0, top] to a bar width in [0, 300] SVG units; a
// non-zero value is at least 2 units wide, so it stays visible.
func scale(v, top int64) int {
	if top <= 0 || v <= 0 {
		return 0
	}
	return max(int(300*v/top), 2)
}

func mb(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }

var page = template.Must(template.New("report").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222;max-width:70em}
h1{font-size:1.4em}h2{font-size:1.1em;margin-top:2em}
table{border-collapse:collapse}td,th{padding:.2em .6em;text-align:right;border-bottom:1px solid #ddd}
td:first-child,th:first-child,td.reason{text-align:left}
.kpi{display:flex;gap:2em;flex-wrap:wrap}.kpi div{border:1px solid #ccc;border-radius:4px;padding:.5em 1em}
.kpi b{display:block;font-size:1.4em}
svg text{font:12px system-ui,sans-serif}
.items{fill:#3b7dd8}.bytes{fill:#5aa469}.round{fill:#8a6bbf}
.bad{color:#b00020}
</style></head><body>
<h1>{{.Title}}</h1>
<p>{{.R.Command}}{{if .R.Round}}, round {{.R.Round}}{{end}}, started {{.Started}}</p>
<div class="kpi">
<div id="kpi-mailboxes"><b>{{len .Bars}}</b>mailboxes</div>
<div id="kpi-items"><b>{{.Items}}</b>items {{.Primary}}</div>
<div id="kpi-bytes"><b>{{.Bytes}}</b>written</div>
<div id="kpi-problems"><b{{if .Problems}} class="bad"{{end}}>{{.Problems}}</b>skipped or failed</div>
<div id="kpi-time"><b>{{.Took}}</b>duration</div>
<div id="kpi-throttled"><b>{{.Thrott}}</b>throttled{{if .ThrottledPct}} ({{.ThrottledPct}}){{end}}</div>
</div>

<h2>Mailboxes</h2>
<table id="mailboxes"><thead><tr><th>mailbox</th>{{range .R.Columns}}<th>{{.}}</th>{{end}}<th>size</th><th>time</th><th>{{.Primary}} and size</th></tr></thead><tbody>
{{range .Bars}}<tr data-mailbox="{{.Mailbox}}"><td>{{.Mailbox}}</td>{{range .Counts}}<td>{{.}}</td>{{end}}<td>{{.Bytes}}</td><td>{{.Seconds}}</td>
<td><svg width="380" height="30" role="img" aria-label="{{.Items}} items, {{.Bytes}}">
<rect class="items" x="0" y="2" height="11" width="{{.ItemsW}}"/><text x="{{.ItemsW}}" dx="4" y="12">{{.Items}}</text>
<rect class="bytes" x="0" y="16" height="11" width="{{.BytesW}}"/><text x="{{.BytesW}}" dx="4" y="26">{{.Bytes}}</text>
</svg></td></tr>
{{end}}</tbody></table>

<h2>Skipped and failed items</h2>
{{if .Problems}}<table id="problems"><thead><tr><th>mailbox</th><th>kind</th><th>count</th><th>reason</th></tr></thead><tbody>
{{range $b := .Bars}}{{range .Problems}}<tr><td>{{$b.Mailbox}}</td><td>{{.Kind}}</td><td>{{.Count}}</td><td class="reason">{{.Reason}}</td></tr>
{{end}}{{if .Err}}<tr><td>{{.Mailbox}}</td><td class="bad">stopped</td><td></td><td class="reason">{{.Err}}</td></tr>
{{end}}{{end}}</tbody></table>{{else}}<p id="problems">None.</p>{{end}}

<h2>Rounds</h2>
{{if .Rounds}}<table id="rounds"><thead><tr><th>round</th><th>written</th><th>volumes</th><th>entries</th><th>size</th><th>state</th><th></th></tr></thead><tbody>
{{range .Rounds}}<tr><td>{{.N}}</td><td>{{.When}}</td><td>{{.Volumes}}</td><td>{{.Entries}}</td><td>{{.Size}}</td><td>{{.State}}</td>
<td><svg width="320" height="14" role="img" aria-label="{{.Size}}"><rect class="round" x="0" y="1" height="12" width="{{.W}}"/></svg></td></tr>
{{end}}</tbody></table>{{else}}<p id="rounds">No rounds recorded.</p>{{end}}

<h2>Throttling</h2>
<p id="throttling">Waited {{.Thrott}} on server back-off{{if .ThrottledPct}}, {{.ThrottledPct}} of the run{{end}}.</p>
</body></html>
`))
