"""Inspections: 党建巡诊 rounds, scored checklists, findings and rectification."""
