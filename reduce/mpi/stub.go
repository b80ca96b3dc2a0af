//go:build !mpi

package mpi

import "gotrap/reduce"

// Available reports whether this binary was built with the mpi tag.
const Available = false

// Comm is MPI_COMM_WORLD; without the mpi tag it cannot be created.
type Comm struct{ reduce.Comm }

// Init returns ErrNotBuilt without the mpi tag.
func Init() (*Comm, error) { return nil, ErrNotBuilt }

// Finalize does nothing without the mpi tag.
func (c *Comm) Finalize() error { return nil }

// Run returns ErrNotBuilt without the mpi tag; fn is not called.
func Run(fn func(c reduce.Comm) error) error { return ErrNotBuilt }
