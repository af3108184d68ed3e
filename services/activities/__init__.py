"""Activities: 三会一课 and other activities, lecture series, obligations,
appraisals, members' small deeds, and the cases Party organisations take on."""
