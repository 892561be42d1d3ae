module github.com/pyhost/pyhost

go 1.26
