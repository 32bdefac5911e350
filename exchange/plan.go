package exchange

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/iemproject/iem/export"
)

var _ export.PlanSource = (*Source)(nil)

// CountMailbox returns the folders of mailbox and the items the server
// reports in them (FolderHierarchy TotalCount: one request), with those of
// its archive mailbox (archiveCount: one more on 2010 SP1 and later).
func (s *Source) CountMailbox(ctx context.Context, mailbox string) (folders, items int, err error) {
	changes, _, err := s.c.SyncFolderHierarchy(ctx, mailbox, "")
	if err != nil {
		return 0, 0, err
	}
	for _, c := range changes {
		items += c.Folder.TotalCount
	}
	af, ai, err := s.archiveCount(ctx, mailbox)
	if err != nil {
		return 0, 0, err
	}
	return len(changes) + af, items + ai, nil
}

var errEnough = errors.New("enough items")

// SampleInbox fetches up to n messages of mailbox's Inbox with their
// MIME, as a round would, and returns how many it got, the rate in items/s
// of one job and the bytes per item.
func (s *Source) SampleInbox(ctx context.Context, mailbox string, n int) (int, float64, float64, error) {
	client := s.c
	inbox, err := client.GetFolder(ctx, mailbox, "inbox")
	if err != nil {
		return 0, 0, 0, err
	}
	var ids []ItemID
	_, err = client.SyncFolderItems(ctx, mailbox, inbox.ID, "", func(c ItemChange) error {
		if c.Kind == Create && KindOf(c.Type, c.Class) == KindMail {
			ids = append(ids, c.ID)
		}
		if len(ids) >= n {
			return errEnough
		}
		return nil
	})
	if err != nil && !errors.Is(err, errEnough) {
		return 0, 0, 0, err
	}
	if len(ids) == 0 {
		return 0, 0, 0, nil
	}
	start := time.Now()
	var bytes int64
	got := 0
	err = client.GetItems(ctx, mailbox, ids, KindMail, func(it *Item) error {
		if it.MIME != nil {
			m, err := io.Copy(io.Discard, it.MIME)
			if err != nil {
				return err
			}
			bytes += m
		}
		got++
		return nil
	})
	if err != nil || got == 0 {
		return 0, 0, 0, err
	}
	took := time.Since(start).Seconds()
	return got, float64(got) / took, float64(bytes) / float64(got), nil
}
