module gotrap

go 1.26
