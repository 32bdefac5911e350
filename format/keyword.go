package format

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Outlook categories become IMAP keywords. A keyword is an atom (RFC 3501
// §9 flag-keyword, RFC 9051 §9): US-ASCII without SP, CTLs and the
// atom-specials ( ) { % * " \ ]. A category name may hold any of them, so
// CategoryKeyword encodes it, reversibly (KeywordCategory):
//
//   - a space becomes "_";
//   - "_", the atom-specials, control characters and everything beyond
//     US-ASCII are written in IMAP modified UTF-7 (RFC 3501 §5.1.3, as
//     mailbox names are): "&" + modified base64 of the UTF-16BE + "-",
//     so "Projekt Ä" is "Projekt_&AMQ-" and "a_b" is "a&AF8-b";
//   - "&" is "&-"; all other printable US-ASCII stands for itself.
//
// "%XX" is not used: "%" is an atom-special (a list wildcard). Keywords
// are compared without regard to case by some servers; Outlook's category
// names are case-insensitive too.
//
// Dovecot accepts such atoms up to mail_max_keyword_length bytes (50 by
// default, tested in icewarp/imapsink); a longer keyword fails the whole
// APPEND or STORE, so MailKeywords leaves it out.

// MaxKeywordLen is the longest keyword MailKeywords returns: Dovecot's
// default mail_max_keyword_length.
const MaxKeywordLen = 50

// keywordShift is what CategoryKeyword writes in modified UTF-7.
func keywordShift(r rune) bool {
	return notPrintable(r) || r == '_' || strings.ContainsRune(`(){%*"\]`, r)
}

// CategoryKeyword returns the IMAP keyword of an Outlook category name ("" for "").
func CategoryKeyword(name string) string {
	return strings.ReplaceAll(encodeUTF7(name, keywordShift), " ", "_")
}

// KeywordCategory returns the category name of a keyword CategoryKeyword
// wrote; other keywords give an error that Is ErrInvalidName.
func KeywordCategory(kw string) (string, error) {
	if strings.Contains(kw, " ") {
		return "", fmt.Errorf("%w: space in keyword %q", ErrInvalidName, kw)
	}
	return decodeUTF7(strings.ReplaceAll(kw, "_", " "), keywordShift)
}

// MailKeywords returns the sorted keywords of a message's "categories"
// attribute (SPEC.md §4, a JSON array), without duplicates, and the
// category names left out because their keyword is longer than
// MaxKeywordLen. An attribute that is not a JSON array gives none.
func MailKeywords(categories string) (keywords, tooLong []string) {
	var names []string
	if categories == "" || json.Unmarshal([]byte(categories), &names) != nil {
		return nil, nil
	}
	for _, n := range names {
		switch kw := CategoryKeyword(n); {
		case kw == "":
		case len(kw) > MaxKeywordLen:
			tooLong = append(tooLong, n)
		default:
			keywords = append(keywords, kw)
		}
	}
	slices.Sort(keywords)
	return slices.Compact(keywords), tooLong
}
