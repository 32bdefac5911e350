package format

import (
	"mime"
)

// mimeDecoder decodes RFC 2047 encoded words in header values.
type mimeDecoder struct{ d mime.WordDecoder }

func (m *mimeDecoder) header(v string) string {
	s, err := m.d.DecodeHeader(v)
	if err != nil {
		return v
	}
	return s
}
