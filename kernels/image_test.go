package kernels

import (
	"errors"
	"image"
	"math"
	"testing"
)

func TestNewImageRejectsBadSizes(t *testing.T) {
	for _, r := range []image.Rectangle{
		{Min: image.Pt(0, 0), Max: image.Pt(-1, 5)},
		{Min: image.Pt(0, 0), Max: image.Pt(1e9, 1e9)},
		{Min: image.Pt(0, 0), Max: image.Pt(MaxPixels, 2)},
	} {
		if _, err := NewImage(r); !errors.Is(err, ErrImageSize) {
			t.Errorf("NewImage(%v) error = %v, want ErrImageSize", r, err)
		}
	}
	m, err := NewImage(image.Rect(0, 0, 3, 2))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Pix) != 6 || m.Stride != 3 {
		t.Errorf("3x2 image: len(Pix)=%d Stride=%d, want 6 and 3", len(m.Pix), m.Stride)
	}
}

func TestSubImageSharesPixels(t *testing.T) {
	m, _ := NewImage(image.Rect(0, 0, 5, 4))
	for i := range m.Pix {
		m.Pix[i] = float32(i)
	}
	s := m.SubImage(image.Rect(2, 1, 9, 3))
	if got, want := s.Rect, image.Rect(2, 1, 5, 3); got != want {
		t.Fatalf("SubImage rect = %v, want %v", got, want)
	}
	// Pixel (3, 2) is element 2*5+3 of the parent.
	if got := s.At(3, 2); got != 13 {
		t.Errorf("sub.At(3,2) = %v, want 13", got)
	}
	s.Set(4, 1, -1)
	if got := m.At(4, 1); got != -1 {
		t.Errorf("write through view not seen in parent: %v", got)
	}
	if got := s.Row(2); len(got) != 3 || got[0] != 12 {
		t.Errorf("sub.Row(2) = %v, want [12 13 14]", got)
	}
	if v := s.At(0, 0); !math.IsNaN(float64(v)) {
		t.Errorf("At outside view = %v, want NaN", v)
	}
	if e := m.SubImage(image.Rect(10, 10, 12, 12)); !e.Rect.Empty() {
		t.Errorf("disjoint SubImage not empty: %v", e.Rect)
	}
}
