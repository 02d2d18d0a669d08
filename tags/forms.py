"""Forms of the console's tag pages (the rules themselves are in `tags.services`)."""

from django import forms


class TagForm(forms.Form):
    name = forms.CharField(strip=True)
    detail = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
