package graphtest

// Grant gives back an application permission Revoke took away, as an
// administrator granting it again with admin consent: tokens issued
// afterwards list it in their roles claim.
func (e *Emulator) Grant(perm string) {
	e.mu.Lock()
	delete(e.revoked, perm)
	e.mu.Unlock()
}
