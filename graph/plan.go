package graph

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/iemproject/iem/export"
)

// CountMailbox returns the mailbox's folders and the items Graph counts in
// them (export.PlanSource): one folder delta, no items read. A mailbox
// the access policy blocks counts nothing, as the round exports nothing of it.
func (s *Source) CountMailbox(ctx context.Context, mailbox string) (folders, items int, err error) {
	h, err := s.Hierarchy(ctx, mailbox, nil)
	var nr *export.NotReadableError
	if errors.As(err, &nr) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, err
	}
	for _, c := range h.Changes {
		items += c.Folder.Total
	}
	return len(h.Changes), items, nil
}

var errEnough = errors.New("enough items")

// SampleInbox fetches up to n messages of the Inbox with their MIME, as a
// round would, and returns how many it got, the rate in items/s of one job
// and the bytes per item.
func (s *Source) SampleInbox(ctx context.Context, mailbox string, n int) (int, float64, float64, error) {
	var inbox mailFolder
	if err := s.c.Get(ctx, mailboxPath(mailbox)+"/mailFolders/inbox?$select=id", &inbox); err != nil {
		return 0, 0, 0, err
	}
	var refs []export.ItemRef
	_, err := s.Changes(ctx, mailbox, inbox.ID, nil, func(c export.ItemChange) error {
		if c.Kind == export.Create {
			refs = append(refs, c.Ref)
		}
		if len(refs) >= n {
			return errEnough
		}
		return nil
	})
	if err != nil && !errors.Is(err, errEnough) || len(refs) == 0 {
		return 0, 0, 0, err
	}
	start := time.Now()
	var bytes int64
	got := 0
	err = s.Fetch(ctx, mailbox, export.KindMail, refs, func(it *export.Item) error {
		if it.Missing != nil {
			return nil
		}
		c, err := it.Open()
		if err != nil {
			return err
		}
		m, err := io.Copy(io.Discard, c.Body)
		bytes += m
		got++
		return err
	})
	if err != nil || got == 0 {
		return 0, 0, 0, err
	}
	took := time.Since(start).Seconds()
	return got, float64(got) / took, float64(bytes) / float64(got), nil
}
