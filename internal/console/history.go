package console

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// The dashboard across rounds: one row per mailbox, one column per round
// the archive folder's reports hold (ARCHIVE/reports/SIDE-round-N.json,
// and SIDE-round-N-run-K.json for a rerun of a round, which replay writes
// so no report replaces another), then the live run's column.

// A History is what the dashboard shows of every round.
type History struct {
	Rounds []*RoundCol
	Rows   []*HistRow
	Chart  Chart
}

// A RoundCol is one round (one run of it), or the live run.
type RoundCol struct {
	Label     string
	Round     int
	Run       int // 1 for the first run of the round
	Live      bool
	Mailboxes int
	Items     int
	Bytes     int64
	Failed    int // mailboxes failed or with failed items
	Seconds   float64
}

// A HistRow is one mailbox: its cell in each round, aligned with Rounds.
type HistRow struct {
	Mailbox string
	Cells   []HistCell
}

// A HistCell is a mailbox in one round; State "" when the round did not
// hold the mailbox.
type HistCell struct {
	State    string
	Reason   string // why the mailbox stopped
	Items    int
	Bytes    int64
	Problems []HistProblem // the items not moved, by kind and reason
}

// A HistProblem counts the items of a mailbox a round failed or skipped
// for one reason.
type HistProblem struct {
	Kind, Reason string
	Count        int
}

// Class is the cell's CSS class: the state as one word.
func (c HistCell) Class() string {
	if c.State == Partial {
		return "state-partial"
	}
	return "state-" + strings.ReplaceAll(c.State, " ", "-")
}

// MB is the bytes in megabytes, as the terminal table shows them.
func (c HistCell) MB() string { return fmt.Sprintf("%.1f", float64(c.Bytes)/1e6) }

// MB is the round's bytes in megabytes.
func (c *RoundCol) MB() string { return fmt.Sprintf("%.1f", float64(c.Bytes)/1e6) }

// A Chart is the bar chart of items per round, drawn as inline SVG.
type Chart struct {
	Width, Height int
	Bars          []Bar
}

// A Bar is one round's bar, its label under it and its count above.
type Bar struct {
	X, Y, W, H   int
	Label, Count string
	TextX, TextY int
	Live         bool
}

// reportFile is what the dashboard reads of a round's JSON report, for
// both sides: export writes exported, import appended and updated.
type reportFile struct {
	Round     int     `json:"round"`
	Seconds   float64 `json:"seconds"`
	Mailboxes []struct {
		Mailbox  string         `json:"mailbox"`
		Exported int            `json:"exported"`
		Appended int            `json:"appended"`
		Updated  int            `json:"updated"`
		Bytes    int64          `json:"bytes"`
		Err      string         `json:"error"`
		Failed   map[string]int `json:"failed"`
		Skipped  map[string]int `json:"skipped"`
	} `json:"mailboxes"`
}

// roundReports lists the JSON reports of side ("export", "import") in the
// reports folders of dirs, by round then run.
func roundReports(side string, dirs []string) []reportRef {
	var refs []reportRef
	for _, d := range dirs {
		ents, _ := os.ReadDir(filepath.Join(d, "reports"))
		for _, e := range ents {
			name, ok := strings.CutSuffix(e.Name(), ".json")
			if !ok {
				continue
			}
			var ref reportRef
			rest, ok := strings.CutPrefix(name, side+"-round-")
			if !ok {
				continue
			}
			if n, _ := fmt.Sscanf(rest, "%d-run-%d", &ref.round, &ref.run); n == 0 || ref.round <= 0 {
				continue
			}
			if ref.run == 0 {
				ref.run = 1
				if fmt.Sprint(ref.round) != rest {
					continue
				}
			}
			ref.path = filepath.Join(d, "reports", e.Name())
			refs = append(refs, ref)
		}
	}
	sort.Slice(refs, func(i, j int) bool {
		if refs[i].round != refs[j].round {
			return refs[i].round < refs[j].round
		}
		return refs[i].run < refs[j].run
	})
	return refs
}

type reportRef struct {
	round, run int
	path       string
}

// buildHistory reads the reports of side in dirs and adds live, the run
// going (nil: none), as the last column.
func buildHistory(side string, dirs []string, live *RunState) *History {
	h := &History{}
	rows := map[string]*HistRow{}
	cell := func(mailbox string) *HistCell {
		r, ok := rows[mailbox]
		if !ok {
			r = &HistRow{Mailbox: mailbox}
			rows[mailbox] = r
		}
		for len(r.Cells) < len(h.Rounds) {
			r.Cells = append(r.Cells, HistCell{})
		}
		return &r.Cells[len(h.Rounds)-1]
	}
	for _, ref := range roundReports(side, dirs) {
		b, err := os.ReadFile(ref.path)
		var rep reportFile
		if err != nil || json.Unmarshal(b, &rep) != nil {
			continue // a report being written or not ours: left out
		}
		col := &RoundCol{Label: fmt.Sprintf("round %d", ref.round), Round: ref.round, Run: ref.run, Seconds: rep.Seconds}
		if ref.run > 1 {
			col.Label += fmt.Sprintf(" (run %d)", ref.run)
		}
		h.Rounds = append(h.Rounds, col)
		for _, m := range rep.Mailboxes {
			c := cell(m.Mailbox)
			c.Items, c.Bytes, c.Reason = m.Exported+m.Appended+m.Updated, m.Bytes, m.Err
			c.Problems = append(problemsOf("failed", m.Failed), problemsOf("skipped", m.Skipped)...)
			switch {
			case m.Err != "":
				c.State = Failed
			case sum(m.Failed) > 0:
				c.State = Partial
			default:
				c.State = Done
			}
			col.add(c)
		}
	}
	if live != nil && live.State == Running {
		h.Rounds = append(h.Rounds, &RoundCol{Label: "this run", Live: true, Seconds: live.Seconds})
		col := h.Rounds[len(h.Rounds)-1]
		for _, r := range live.Rows {
			c := cell(r.Mailbox)
			c.State, c.Reason, c.Items, c.Bytes = r.State, r.Reason, r.Items, r.Bytes
			col.add(c)
		}
	}
	for _, r := range rows {
		for len(r.Cells) < len(h.Rounds) {
			r.Cells = append(r.Cells, HistCell{})
		}
		h.Rows = append(h.Rows, r)
	}
	sort.Slice(h.Rows, func(i, j int) bool { return h.Rows[i].Mailbox < h.Rows[j].Mailbox })
	h.Chart = chartOf(h.Rounds)
	return h
}

func (col *RoundCol) add(c *HistCell) {
	col.Mailboxes++
	col.Items += c.Items
	col.Bytes += c.Bytes
	if c.State == Failed || c.State == Partial {
		col.Failed++
	}
}

func problemsOf(kind string, m map[string]int) []HistProblem {
	var ps []HistProblem
	for r, n := range m {
		if n > 0 {
			ps = append(ps, HistProblem{kind, r, n})
		}
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].Reason < ps[j].Reason })
	return ps
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// chartOf draws the items of each round as bars scaled to the largest:
// rounds getting shorter is what says the cut-over can be planned.
func chartOf(cols []*RoundCol) Chart {
	const barW, gap, plotH, top, bottom = 44, 16, 120, 18, 20
	ch := Chart{Width: gap + len(cols)*(barW+gap), Height: top + plotH + bottom}
	most := 1
	for _, c := range cols {
		most = max(most, c.Items)
	}
	for i, c := range cols {
		h := c.Items * plotH / most
		if c.Items > 0 {
			h = max(h, 1)
		}
		x := gap + i*(barW+gap)
		label := fmt.Sprintf("R%d", c.Round)
		if c.Run > 1 {
			label += fmt.Sprintf(".%d", c.Run)
		}
		if c.Live {
			label = "now"
		}
		ch.Bars = append(ch.Bars, Bar{X: x, Y: top + plotH - h, W: barW, H: h, Label: label, Count: fmt.Sprint(c.Items),
			TextX: x + barW/2, TextY: top + plotH - h - 4, Live: c.Live})
	}
	return ch
}

// history is the dashboard's history of side over the archive folders
// of the settings; e.mu held.
func (e *base) history(side string) *History {
	var live *RunState
	if e.run != nil && !e.run.finished() {
		st := e.run.State()
		live = &st
	}
	return buildHistory(side, e.values["archive"], live)
}

// historyFragment serves the history table alone, for the dashboard to
// refresh when a run starts, ends, or meets a new mailbox.
func (e *base) historyFragment(side string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		h := e.history(side)
		e.mu.Unlock()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if err := e.srv.tmpl.ExecuteTemplate(w, "history", h); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	}
}
