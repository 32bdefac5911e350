// Package icewarp is a client for IceWarp Server's admin XML API, the
// Control service's "POST /icewarpapi/" endpoint in namespace admin:iq:rpc,
// as described in shared/research/icewarp.md §2 (request and response shapes
// from the IceWarp.Net fixtures [V NET], command list [V API-JSON]).
//
// An [Admin] logs in once with "authenticate" and sends the session id on
// every later call. Results are "1"/"0" or a result tree; a response
// <iq type="error"> or a <result>0</result> becomes an [*APIError]. Network
// failures and HTTP 5xx are retried through internal/retry.
//
// The Ensure* methods make reruns safe: an object that already exists with
// the same type counts as success, one of another type is [ErrTypeConflict].
//
// Sibling packages: [github.com/iemproject/iem/icewarp/mailpath] writes
// message files for path mode; icewarptest emulates the server for tests.
//
// An Admin is safe for concurrent use once Login has returned.
package icewarp
