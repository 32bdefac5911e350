package report

import "time"

// Sum adds up the counts of a reason → count map (skipped, failed, ...).
func Sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// Time starts timing a mailbox; the function it returns, deferred with the
// address of the mailbox's named error, stores the seconds taken and the
// error's text in its row:
//
//	defer report.Time(&st.Seconds, &st.Err)(&err)
func Time(seconds *float64, msg *string) func(*error) {
	start := time.Now()
	return func(err *error) {
		*seconds = time.Since(start).Seconds()
		if *err != nil {
			*msg = (*err).Error()
		}
	}
}
