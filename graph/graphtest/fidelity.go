package graphtest

import "strings"

// importance is an EWS Importance (Low, Normal, High; "" = Normal) in
// Graph's lower camel case [V graph.md §4.3: message importance; I: the
// enumeration values low, normal, high].
func importance(ews string) string {
	if ews == "" {
		return "normal"
	}
	return strings.ToLower(ews[:1]) + ews[1:]
}

// nonNilStrings renders a nil list as [] as Graph does for an empty
// collection property [I].
func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
