package graph

import "strconv"

// This file maps a Microsoft To Do task (todoTask) to the EWS Task XML
// that format.TaskToICal reads, as ewsxml.go does for contacts and
// eventxml.go for events, so a task becomes the same VTODO over Graph as
// over EWS. The fields are those of the todoTask resource [V GDOC
// api-reference/v1.0/resources/todotask.md: title, body, status,
// importance, startDateTime, dueDateTime, completedDateTime,
// reminderDateTime, isReminderOn, recurrence (patternedRecurrence, the
// event's recurrence shape of graph.md §5), categories, createdDateTime,
// lastModifiedDateTime]. Its "Task Export Mapping" table names the Outlook
// property of each (title -> Subject, dueDateTime -> DueDate, isReminderOn
// -> IsReminderSet, reminderDateTime -> ReminderTime, ...): the EWS
// elements below are those properties' EWS names [I: ReminderTime is
// EWS's ReminderDueBy]. To Do has no percentComplete: a completed task is
// written as 100 percent, the others leave it out.

// taskStatus maps todoTask status to EWS TaskStatusType [V todotask.md:
// notStarted, inProgress, completed, waitingOnOthers, deferred].
var taskStatus = map[string]string{"notStarted": "NotStarted", "inProgress": "InProgress", "completed": "Completed",
	"waitingOnOthers": "WaitingOnOthers", "deferred": "Deferred"}

// importance maps Graph's low/normal/high to EWS's ImportanceChoicesType.
var importance = map[string]string{"low": "Low", "normal": "Normal", "high": "High"}

// taskXML renders the task as the EWS Task element format.TaskToICal reads.
func (c object) taskXML() []byte {
	var b xmlBuilder
	b.open("Task")
	b.itemID(c.str("id"))
	b.text("Subject", c.str("title"))
	if body := c.obj("body"); body.str("content") != "" {
		bt := "Text"
		if body.str("contentType") == "html" {
			bt = "HTML"
		}
		b.text("Body", body.str("content"), "BodyType", bt)
	}
	if cats := c.strs("categories"); len(cats) > 0 {
		b.open("Categories")
		for _, cat := range cats {
			b.text("String", cat)
		}
		b.close("Categories")
	}
	b.text("Importance", importance[c.str("importance")])
	b.text("DateTimeCreated", c.str("createdDateTime"))
	b.text("LastModifiedTime", c.str("lastModifiedDateTime"))
	if v, ok := c["isReminderOn"].(bool); ok {
		b.text("ReminderIsSet", strconv.FormatBool(v))
		b.text("ReminderDueBy", utcTime(c.obj("reminderDateTime")))
	}
	b.text("StartDate", utcTime(c.obj("startDateTime")))
	b.text("DueDate", utcTime(c.obj("dueDateTime")))
	b.text("CompleteDate", utcTime(c.obj("completedDateTime")))
	st := taskStatus[c.str("status")]
	if st == "Completed" {
		b.text("PercentComplete", "100")
	}
	b.text("Status", st)
	if rec := c.obj("recurrence"); rec != nil {
		b.recurrence(rec)
	}
	b.close("Task")
	return b.Bytes()
}
