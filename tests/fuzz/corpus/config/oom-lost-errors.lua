--!fail 08
settings { control = "run/sluice.ctl" }
input "devlog" { typegetme = "uniVx",0 }inh = o
utput "]" { type"le", nror = "pas" }
