package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"time"

	"github.com/iemproject/iem/archive"
	"github.com/iemproject/iem/export"
	"github.com/iemproject/iem/format"
)

// calendars adds the mailbox's calendars to h (class IPF.Appointment; the
// default one gets role "calendar") and records them for Changes.
// Calendars have no parent folder in Graph [I: Microsoft Learn
// resources/calendar]: they are placed below the message folder root.
func (s *Source) calendars(ctx context.Context, mailbox string, h *export.Hierarchy, kind export.ChangeKind) error {
	root := ""
	for id, role := range h.Roles {
		if role == export.RoleRoot {
			root = id
		}
	}
	return s.listFolders(ctx, mailbox, "calendars", h, kind, export.KindCalendar, "IPF.Appointment", "CalendarFolder", func(f *pimFolder) {
		f.ParentFolderID, f.DisplayName = root, f.Name
		if f.IsDefaultCalendar {
			h.Roles[f.ID] = "calendar"
		}
	})
}

// eventChanges lists a calendar's events (series masters with their
// recurrence, not the expanded occurrences calendarView/delta returns
// [V graph.md §5]) and reports what changed since marker, a JSON map of
// event id to etag from the previous round.
func (s *Source) eventChanges(ctx context.Context, mailbox, calendarID string, mark []byte, fn func(export.ItemChange) error) ([]byte, error) {
	prev := map[string]string{}
	if mark != nil {
		if err := json.Unmarshal(mark, &prev); err != nil {
			return nil, export.MarkerRejected(fmt.Errorf("calendar marker: %w", err))
		}
	}
	cur := map[string]string{}
	_, err := Pages(ctx, s.c, mailboxPath(mailbox)+"/calendars/"+url.PathEscape(calendarID)+"/events?$select=id", func(m deltaMessage) error {
		cur[m.ID] = m.ETag
		old, seen := prev[m.ID]
		switch {
		case !seen:
			return fn(export.ItemChange{Kind: export.Create, Ref: export.ItemRef{ID: m.ID, Version: m.ETag, Kind: export.KindCalendar}})
		case old != m.ETag:
			return fn(export.ItemChange{Kind: export.Update, Ref: export.ItemRef{ID: m.ID, Version: m.ETag, Kind: export.KindCalendar}})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	for id := range prev {
		if _, ok := cur[id]; !ok {
			if err := fn(export.ItemChange{Kind: export.Delete, Ref: export.ItemRef{ID: id, Kind: export.KindCalendar}}); err != nil {
				return nil, err
			}
		}
	}
	return json.Marshal(cur)
}

// fetchEvent reads one event and converts it to iCalendar with
// format.CalendarToICal over the EWS XML built from its JSON; a series
// master with its exceptions (RECURRENCE-ID overrides) and cancelled
// occurrences (EXDATE), read by seriesParts.
func (s *Source) fetchEvent(ctx context.Context, mailbox string, r export.ItemRef) (*export.Item, error) {
	opt := &format.CalendarOptions{Owner: mailbox}
	return s.fetchPIM(ctx, mailbox, "events", r, "IPM.Appointment", "calendar item", func(ev object) (*export.Content, error) {
		var deleted []time.Time
		var exceptions [][]byte
		if ev.str("type") == "seriesMaster" {
			var err error
			// Not a Problem: the series' marker must not record it as
			// archived, so the mailbox stops and the next round retries.
			if deleted, exceptions, err = s.seriesParts(ctx, mailbox, ev, opt); err != nil {
				return nil, err
			}
		}
		return converted(archive.KindEvent, "calendar", func(b *bytes.Buffer) error {
			cal, _, err := format.CalendarToICal(ev.calendarXML(deleted...), exceptions, nil, opt)
			if err != nil {
				return err
			}
			return format.WriteICal(b, cal)
		})
	})
}
